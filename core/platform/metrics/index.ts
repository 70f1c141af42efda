/**
 * Metrics that add up across Lambda instances.
 *
 * An invocation records into memory (plain maps, prom-client's calling conventions); the handler
 * factory calls `flushMetrics()` in a `finally`, which sends the deltas to Redis in one round trip
 * (counters and histograms by HINCRBYFLOAT, gauges newest-wins) and never throws; `GET /metrics`
 * calls `renderMetrics()`, which reads the merged values and renders them with prom-client.
 * Keys live under the stage's Redis prefix, per metric name (`metrics:c:<name>` ...), so every
 * process and every recorder of a stage merges into the same place.
 *
 * Label cardinality is bounded: a value outside a label's allowlist, or beyond the first
 * `config().metrics.maxLabelValues` distinct values seen in Redis for that metric+label, is
 * recorded as `other`. A failed flush keeps its deltas (bounded) for the next one; see
 * recorder.ts for that policy.
 *
 * @example
 *   import { counter, flushMetrics } from "../platform/metrics/index.ts";
 *   const skillRuns = counter("aos_skill_runs_total", "Skill runs by skill", ["skill"]);
 *   skillRuns.inc({ skill: "kv_store" });
 *   await flushMetrics(); // the handler factory does this after every invocation
 */
import type { MetricDef } from "./definitions.ts";
import { createMetrics, type Metrics } from "./instruments.ts";

export type { Labels, MetricDef } from "./definitions.ts";
export { OTHER } from "./definitions.ts";
export type { Counter, Gauge, Histogram, Metrics } from "./instruments.ts";
export { createMetrics } from "./instruments.ts";
export type { RecorderOptions, RecorderStats } from "./recorder.ts";
export { MetricsRecorder } from "./recorder.ts";

/** The process's metrics: one recorder, flushed to the shared, stage-prefixed Redis client. */
const metrics = createMetrics();

export const counter = metrics.counter;
export const histogram = metrics.histogram;
export const gauge = metrics.gauge;
export const recordHttp = metrics.recordHttp;
export const recordQueue = metrics.recordQueue;
export const recordCron = metrics.recordCron;
export const allowLabelValues = metrics.allowLabelValues;
export const allowRoutes = metrics.allowRoutes;

/** Send this invocation's deltas to Redis: one round trip, never throws (see recorder.ts). */
export function flushMetrics(): Promise<void> {
  return metrics.flush();
}

/**
 * Prometheus text format 0.0.4 of the merged metrics of every instance, for `GET /metrics`
 * (`of` defaults to this process's metrics; its Redis client and declarations are used).
 *
 * The only way in to render.ts, and so to prom-client, is this dynamic import in a function of its
 * own: a bundle that does not call it (every Lambda but /metrics) tree-shakes it, prom-client
 * included. Keep it out of objects that hot-path code uses, or prom-client comes back into them.
 */
export async function renderMetrics(of: Metrics = metrics): Promise<{ contentType: string; body: string }> {
  const { renderMerged } = await import("./render.ts");
  return renderMerged(of.recorder.client(), of.recorder.definitions());
}

/**
 * Every metric this process declared (name, type, help, labels, buckets, allowlists): the built-in
 * HTTP / queue / cron / flush metrics and those of each `metrics.ts` module imported so far. The
 * metric-name test imports every such module and checks each definition against docs/metrics.md.
 */
export function metricDefinitions(): readonly MetricDef[] {
  return metrics.recorder.definitions();
}

/** Local flush counters of this process (failures, dropped batches), for logs and tests. */
export function metricsStats() {
  return metrics.recorder.stats();
}
