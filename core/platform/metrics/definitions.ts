/**
 * What a metric is (name, type, help, label names, buckets, label allowlists) and where its
 * merged values live in Redis. Shared by the recorder (writes), the flush script and the renderer
 * (reads); plain data, no client and no prom-client here.
 */

export type MetricType = "counter" | "histogram" | "gauge";
export type Labels = Record<string, string | number>;

export interface MetricDef {
  readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Histograms only: finite upper bounds, ascending. `+Inf` is implicit. */
  readonly buckets?: readonly number[];
  /** Label -> the only values kept; anything else becomes `other`. Labels absent here are top-N guarded. */
  readonly allow: Map<string, ReadonlySet<string>>;
}

/** What is stored in `metrics:meta`, so a process that never defined a metric can still render it. */
export interface StoredDef {
  type: MetricType;
  help: string;
  labelNames: string[];
  buckets?: number[];
}

/** The label value a guarded label falls back to. */
export const OTHER = "other";

export const defaultBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Redis keys, relative to the stage prefix that the Redis client adds (`aos:<stage>:`), so every
 * process of a stage, whatever registry it used, merges into the same hashes.
 */
export const keys = {
  meta: "metrics:meta",
  values: (type: MetricType, name: string) => `metrics:${type[0]}:${name}`,
  /** Distinct values admitted for one label of one metric (ZSET, score = first seen, ms). */
  labelValues: (name: string, label: string) => `metrics:lv:${name}:${label}`,
  /** Sequence number of the last batch applied from one recorder, so a retried batch is not counted twice. */
  appliedSeq: (recorderId: string) => `metrics:seq:${recorderId}`,
};

export function makeDef(
  type: MetricType,
  name: string,
  help: string,
  labelNames: readonly string[],
  opts: { buckets?: readonly number[]; allow?: Record<string, readonly string[]> } = {},
): MetricDef {
  if (!metricNamePattern.test(name)) throw new TypeError(`invalid metric name: ${name}`);
  if (!help) throw new TypeError(`metric ${name} needs a help text`);
  for (const l of labelNames) {
    if (!labelNamePattern.test(l) || l.startsWith("__")) throw new TypeError(`invalid label name ${l} on ${name}`);
    if (type === "histogram" && l === "le") throw new TypeError(`le is reserved on histogram ${name}`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new TypeError(`duplicate label names on ${name}`);
  let buckets: number[] | undefined;
  if (type === "histogram") {
    buckets = [...(opts.buckets ?? defaultBuckets)].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
    if (!buckets.length || new Set(buckets).size !== buckets.length) {
      throw new TypeError(`histogram ${name} needs distinct finite buckets`);
    }
  }
  const allow = new Map<string, ReadonlySet<string>>();
  for (const [label, values] of Object.entries(opts.allow ?? {})) {
    if (!labelNames.includes(label)) throw new TypeError(`allowlist for unknown label ${label} on ${name}`);
    allow.set(label, new Set(values.map(String)));
  }
  return { type, name, help, labelNames: [...labelNames], buckets, allow };
}

/** Same metric declared twice (two modules, or a module loaded twice by a test runner)? */
export function sameShape(a: MetricDef, b: MetricDef): boolean {
  return (
    a.type === b.type &&
    a.labelNames.join(",") === b.labelNames.join(",") &&
    (a.buckets ?? []).join(",") === (b.buckets ?? []).join(",")
  );
}

export function storedDef(d: MetricDef): StoredDef {
  return {
    type: d.type,
    help: d.help,
    labelNames: [...d.labelNames],
    ...(d.buckets ? { buckets: [...d.buckets] } : {}),
  };
}
