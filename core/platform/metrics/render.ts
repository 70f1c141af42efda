/**
 * Render the merged metrics of every instance as Prometheus text (format 0.0.4).
 *
 * Reads the definitions (`metrics:meta`, plus the ones this process declared) and their value
 * hashes from Redis, turns them into prom-client's metric JSON (the shape `getMetricsAsJSON`
 * produces) and lets prom-client's `AggregatorRegistry.aggregate` -- its documented way to render
 * metrics collected elsewhere -- build the registry that writes the text: escaping, number format,
 * HELP/TYPE lines and histogram series are prom-client's own. prom-client is imported here, and
 * only here, lazily: the Lambdas that only record metrics never load it.
 */

import { UnavailableError } from "../../errors.ts";
import type { RedisClient } from "../redis-client.ts";
import { keys, type MetricDef, type MetricType, type StoredDef, storedDef } from "./definitions.ts";

/** Reading every metric's hash is one pipeline, larger than the hot path's commands. */
const RENDER_TIMEOUT_MS = 2_000;

interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}
interface MetricJson {
  name: string;
  help: string;
  type: MetricType;
  aggregator: "sum";
  values: Value[];
}

export async function renderMerged(
  client: RedisClient,
  localDefs: readonly MetricDef[],
): Promise<{ contentType: string; body: string }> {
  const defs = new Map<string, StoredDef>();
  let hashes: Record<string, string>[];
  try {
    for (const [name, json] of Object.entries(await client.hgetall(keys.meta))) {
      try {
        defs.set(name, JSON.parse(json) as StoredDef);
      } catch {}
    }
    // This process's declarations win: they are the code that is deployed now.
    for (const d of localDefs) defs.set(d.name, storedDef(d));
    const pipe = client.pipeline();
    for (const [name, d] of defs) pipe.hgetall(keys.values(d.type, name));
    hashes = (await pipe.exec(RENDER_TIMEOUT_MS)).map(([err, res]) => {
      if (err) throw err;
      return (res ?? {}) as Record<string, string>;
    });
  } catch (cause) {
    throw new UnavailableError("metrics.redis_unavailable", "Metrics store (Redis) is unavailable", { cause });
  }

  const metrics: MetricJson[] = [...defs].map(([name, d], i) => {
    const hash = hashes[i] ?? {};
    const values =
      d.type === "histogram" ? histogramValues(name, d.buckets ?? [], hash) : plainValues(d.type, d.labelNames, hash);
    return { name, help: d.help, type: d.type, aggregator: "sum", values };
  });
  metrics.sort((a, b) => (a.name < b.name ? -1 : 1));

  const { AggregatorRegistry } = await import("prom-client");
  const registry = AggregatorRegistry.aggregate([metrics]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function parseLabels(field: string): Record<string, string> | undefined {
  try {
    const v: unknown = JSON.parse(field);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

function plainValues(type: MetricType, labelNames: readonly string[], hash: Record<string, string>): Value[] {
  const values: Value[] = [];
  for (const [field, raw] of Object.entries(hash)) {
    const labels = parseLabels(field);
    // Gauges are stored as "<ts ms> <value>" so that the newest write wins.
    const value = Number(type === "gauge" ? raw.slice(raw.indexOf(" ") + 1) : raw);
    if (labels && Number.isFinite(value)) values.push({ labels, value });
  }
  // Like prom-client, a metric without labels shows 0 before its first value.
  if (!values.length && !labelNames.length && type !== "histogram") values.push({ labels: {}, value: 0 });
  return values;
}

/**
 * Stored per label set: `<labels>\tsum`, `<labels>\tcount` and `<labels>\tle:<bound>` holding the
 * observations that fell in that bucket alone. A bound the current definition lacks (buckets
 * changed between deploys) is counted in the next larger current bucket, which keeps every
 * bucket an upper bound; beyond the largest it only counts in +Inf.
 */
function histogramValues(name: string, buckets: readonly number[], hash: Record<string, string>): Value[] {
  const series = new Map<string, { labels: Record<string, string>; sum: number; count: number; per: number[] }>();
  for (const [field, raw] of Object.entries(hash)) {
    const tab = field.lastIndexOf("\t");
    const labelKey = field.slice(0, tab);
    const part = field.slice(tab + 1);
    const n = Number(raw);
    if (tab < 0 || !Number.isFinite(n)) continue;
    let s = series.get(labelKey);
    if (!s) {
      const labels = parseLabels(labelKey);
      if (!labels) continue;
      s = { labels, sum: 0, count: 0, per: buckets.map(() => 0) };
      series.set(labelKey, s);
    }
    if (part === "sum") s.sum += n;
    else if (part === "count") s.count += n;
    else if (part.startsWith("le:")) {
      const bound = Number(part.slice(3));
      const i = buckets.findIndex((b) => bound <= b);
      if (i >= 0) s.per[i] = (s.per[i] ?? 0) + n;
    }
  }
  const values: Value[] = [];
  for (const s of series.values()) {
    let acc = 0;
    buckets.forEach((b, i) => {
      acc += s.per[i] ?? 0;
      values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: b }, value: acc });
    });
    values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
    values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
    values.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
  }
  return values;
}
