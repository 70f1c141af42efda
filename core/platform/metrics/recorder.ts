/**
 * A metrics recorder: the metrics one process defines and the deltas it recorded since its last
 * flush, in plain maps (no prom-client on the hot path). The process has one (see index.ts); tests
 * make several to play separate Lambda instances sharing one Redis.
 *
 * Flush failure policy: KEEP, bounded. A batch that could not be applied stays pending and is sent
 * again with the next flush (batches carry this recorder's id and a sequence number that Redis
 * remembers, so a batch whose reply was lost is not counted twice). At most `maxPendingBatches` batches, none older than
 * `maxPendingAgeMs`, are kept; older ones are dropped, logged and counted. Every failed flush
 * increments `aos_metrics_flush_failures_total`, which reaches Redis with the next good flush, and
 * `stats().flushFailures` locally; dropped batches likewise `aos_metrics_dropped_batches_total`. Dropping at once would lose every blip's data; keeping without
 * a bound would grow a Lambda's memory while Redis is down.
 */
import { randomUUID } from "node:crypto";
import { config } from "../../config.ts";
import { clock } from "../clock.ts";
import { log } from "../logger.ts";
import { redis as sharedRedis } from "../redis.ts";
import type { RedisClient } from "../redis-client.ts";
import { type Labels, type MetricDef, type MetricType, makeDef, OTHER, sameShape } from "./definitions.ts";
import { applyBatches, type Batch, buildBatch, type Series } from "./flush.ts";

export interface RecorderOptions {
  /** Redis client to flush to (default: the process's shared client, stage-prefixed). */
  redis?: () => RedisClient;
  /** Default: config().metrics.maxLabelValues. */
  maxLabelValues?: number;
  /** Default: config().metrics.enabled. When false, recording and flushing do nothing. */
  enabled?: boolean;
  /** A flush gives up after this long (the Lambda is waiting for it). Default: the client's command deadline (REDIS_COMMAND_TIMEOUT_MS). */
  flushTimeoutMs?: number;
  maxPendingBatches?: number;
  maxPendingAgeMs?: number;
  /** Distinct series kept per metric between flushes; beyond it, unlisted labels become `other`. */
  maxLocalSeries?: number;
}

export interface RecorderStats {
  flushes: number;
  flushFailures: number;
  droppedBatches: number;
  pendingBatches: number;
}

export class MetricsRecorder {
  private readonly defs = new Map<string, MetricDef>();
  private pending = new Map<MetricDef, Map<string, Series>>();
  private batches: Batch[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly counts = { flushes: 0, flushFailures: 0, droppedBatches: 0 };
  private readonly failuresDef: MetricDef;
  private readonly droppedDef: MetricDef;
  private readonly id = randomUUID();
  private seq = 0;

  constructor(private readonly opts: RecorderOptions = {}) {
    this.failuresDef = this.define(
      "counter",
      "aos_metrics_flush_failures_total",
      "Metric flushes to Redis that failed in this process (their deltas are retried with the next flush)",
      [],
    );
    this.droppedDef = this.define(
      "counter",
      "aos_metrics_dropped_batches_total",
      "Metric batches dropped unsent after failed flushes (too old or too many pending): their data is lost",
      [],
    );
  }

  /** The Redis client this recorder flushes to and renders from. */
  client(): RedisClient {
    return (this.opts.redis ?? sharedRedis)();
  }

  /** Declare a metric (idempotent for the same shape). Throws on a bad name or a clash. */
  define(
    type: MetricType,
    name: string,
    help: string,
    labelNames: readonly string[],
    opts?: { buckets?: readonly number[]; allow?: Record<string, readonly string[]> },
  ): MetricDef {
    const def = makeDef(type, name, help, labelNames, opts);
    const existing = this.defs.get(name);
    if (existing) {
      if (!sameShape(existing, def)) throw new TypeError(`metric ${name} is already defined with another shape`);
      for (const [label, values] of def.allow) this.allowLabelValues(name, label, [...values]);
      return existing;
    }
    this.defs.set(name, def);
    return def;
  }

  /** Every metric this recorder knows, for the renderer (HELP/TYPE even before any value). */
  definitions(): readonly MetricDef[] {
    return [...this.defs.values()];
  }

  /**
   * Restrict a label to known values (extends an existing allowlist); others become `other`.
   * Lets transport code inject data core must not import, e.g. every route key of routes.ts.
   */
  allowLabelValues(metric: string, label: string, values: readonly string[]): void {
    const def = this.defs.get(metric);
    if (!def) throw new TypeError(`unknown metric ${metric}`);
    if (!def.labelNames.includes(label)) throw new TypeError(`metric ${metric} has no label ${label}`);
    def.allow.set(label, new Set([...(def.allow.get(label) ?? []), ...values.map(String)]));
  }

  enabled(): boolean {
    return this.opts.enabled ?? config().metrics.enabled;
  }

  /** Add `value` to a counter series. */
  inc(def: MetricDef, labels: Labels | undefined, value: number): void {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`${def.name}: increment must be finite and >= 0`);
    if (!this.enabled()) return;
    const s = this.series(def, labels, () => ({ kind: "c", value: 0 }));
    if (s.data.kind === "c") s.data.value += value;
  }

  observe(def: MetricDef, labels: Labels | undefined, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${def.name}: observed value must be finite`);
    if (!this.enabled()) return;
    const bounds = def.buckets ?? [];
    const s = this.series(def, labels, () => ({ kind: "h", sum: 0, count: 0, buckets: bounds.map(() => 0) }));
    if (s.data.kind !== "h") return;
    s.data.sum += value;
    s.data.count += 1;
    const i = bounds.findIndex((b) => value <= b);
    if (i >= 0) s.data.buckets[i] = (s.data.buckets[i] ?? 0) + 1;
  }

  set(def: MetricDef, labels: Labels | undefined, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${def.name}: gauge value must be finite`);
    if (!this.enabled()) return;
    const s = this.series(def, labels, () => ({ kind: "g", value: 0, ts: 0 }));
    if (s.data.kind !== "g") return;
    s.data.value = value;
    s.data.ts = clock().nowMs();
  }

  private series(def: MetricDef, labels: Labels | undefined, init: () => Series["data"]): Series {
    let perMetric = this.pending.get(def);
    if (!perMetric) {
      perMetric = new Map();
      this.pending.set(def, perMetric);
    }
    const overflow = perMetric.size >= (this.opts.maxLocalSeries ?? 1000);
    const pairs: [string, string][] = [];
    for (const [name, raw] of Object.entries(labels ?? {})) {
      if (!def.labelNames.includes(name)) throw new TypeError(`${def.name} has no label ${name}`);
      let value = String(raw);
      const allowed = def.allow.get(name);
      if (allowed ? !allowed.has(value) : overflow) value = OTHER;
      pairs.push([name, value]);
    }
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const key = JSON.stringify(pairs);
    let s = perMetric.get(key);
    if (!s) {
      s = { labels: pairs, data: init() };
      perMetric.set(key, s);
    }
    return s;
  }

  /**
   * Send what was recorded (and any batch still pending from a failed flush) to Redis in one
   * round trip. Never throws; concurrent calls run one after the other.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushOnce());
    this.flushing = run;
    return run;
  }

  private async flushOnce(): Promise<void> {
    try {
      if (!this.enabled()) return;
      const now = clock().nowMs();
      const max = this.opts.maxLabelValues ?? config().metrics.maxLabelValues;
      const batch = buildBatch(this.id, this.seq + 1, now, this.pending, max);
      this.pending = new Map();
      if (batch) {
        this.seq = batch.seq;
        this.batches.push(batch);
      }
      this.dropOld(now);
      if (!this.batches.length) return;
      const sending = [...this.batches];
      this.counts.flushes++;
      const results = await applyBatches(this.client(), sending, this.opts.flushTimeoutMs);
      const failed = sending.filter((_, i) => results[i]);
      this.batches = this.batches.filter((b) => !sending.includes(b) || failed.includes(b));
      const firstError = results.find(Boolean);
      if (firstError) throw firstError;
    } catch (err) {
      this.counts.flushFailures++;
      try {
        this.inc(this.failuresDef, undefined, 1);
        log.warn("metrics flush failed; deltas kept for the next flush", {
          err,
          pendingBatches: this.batches.length,
          droppedBatches: this.counts.droppedBatches,
        });
      } catch {}
    }
  }

  private dropOld(now: number): void {
    const maxAge = this.opts.maxPendingAgeMs ?? 10 * 60_000;
    const maxCount = this.opts.maxPendingBatches ?? 20;
    const keep = this.batches.filter((b) => now - b.createdAt <= maxAge).slice(-maxCount);
    const dropped = this.batches.length - keep.length;
    if (dropped > 0) {
      this.counts.droppedBatches += dropped;
      this.inc(this.droppedDef, undefined, dropped);
      log.warn("metrics batches dropped after failed flushes", { dropped });
    }
    this.batches = keep;
  }

  stats(): RecorderStats {
    return { ...this.counts, pendingBatches: this.batches.length };
  }
}
