/**
 * Every metric AOS declares, and the naming rules they follow (docs/metrics.md), for the tests
 * that check names, render `/metrics` through promtool and match the monitoring rules against it.
 *
 * Metrics are declared only in files named `metrics.ts` (plus the built-in ones of
 * core/platform/metrics): `declarationsOutsideMetricsFiles()` finds any other declaration, so
 * importing every `metrics.ts` under core/ is the whole list.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type MetricDef, metricDefinitions } from "../../core/platform/metrics/index.ts";

const root = resolve(import.meta.dirname, "../..");

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** `core/**\/metrics.ts`, repository-relative. */
export function metricModules(): string[] {
  return walk(join(root, "core"))
    .filter((f) => f.endsWith("/metrics.ts"))
    .map((f) => relative(root, f))
    .sort();
}

/** Import every metrics module and answer every definition of the process registry, by name. */
export async function allMetricDefinitions(): Promise<MetricDef[]> {
  for (const m of metricModules()) await import(pathToFileURL(join(root, m)).href);
  return [...metricDefinitions()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** `file: call` of each `counter("…"`, `histogram("…"` or `gauge("…"` outside the allowed files. */
export function declarationsOutsideMetricsFiles(): string[] {
  const found: string[] = [];
  for (const dir of ["core", "functions", "local", "cli", "stacks", "bench", "scripts"]) {
    let files: string[];
    try {
      files = walk(join(root, dir));
    } catch {
      continue;
    }
    for (const f of files) {
      const rel = relative(root, f);
      if (rel.endsWith("/metrics.ts") || rel.startsWith("core/platform/metrics/")) continue;
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/\b(counter|histogram|gauge)\(\s*["'`]([^"'`]+)/g)) found.push(`${rel}: ${m[2]}`);
    }
  }
  return found;
}

/**
 * Metrics whose name a seed gives (/work/shared/seeds): exported under that name, with only a
 * missing base unit added. `seed` is the seed's own spelling.
 */
export const seedNamed: Record<
  string,
  {
    type: MetricDef["type"];
    seed: string;
    note: string;
    /** A histogram whose name cannot end in a base unit: what it measures instead, and why. */
    unit?: string;
  }
> = {
  job_spawn_duration_seconds: { type: "histogram", seed: "job_spawn_duration", note: "seed 002, unit added" },
  job_completion_duration_seconds: {
    type: "histogram",
    seed: "job_completion_duration",
    note: "seed 002, unit added",
  },
  credit_reservation_total: { type: "counter", seed: "credit_reservation_total", note: "seed 002" },
  credit_refund_total: { type: "counter", seed: "credit_refund_total", note: "seed 002" },
  failure_match_hits_total: { type: "counter", seed: "failure_match_hits_total", note: "seed 003" },
  failure_match_misses_total: { type: "counter", seed: "failure_match_misses_total", note: "seed 003" },
  failure_persist_dropped_total: { type: "counter", seed: "failure_persist_dropped_total", note: "seed 003" },
  invoke_duration_seconds: { type: "histogram", seed: "invoke_duration_seconds", note: "seed 002" },
  invoke_success_total: { type: "counter", seed: "invoke_success_total", note: "seed 002" },
  invoke_failure_total: { type: "counter", seed: "invoke_failure_total", note: "seed 002" },
  blackboard_op_duration_seconds: { type: "histogram", seed: "blackboard_op_duration", note: "seed 002, unit added" },
  recovery_success_total: { type: "counter", seed: "recovery_success_total", note: "seed 003" },
  recovery_failure_total: { type: "counter", seed: "recovery_failure_total", note: "seed 003" },
  m11_skill_executions_total: { type: "counter", seed: "m11_skill_executions_total", note: "seed 000" },
  m11_skill_execution_seconds: { type: "histogram", seed: "m11_skill_execution_seconds", note: "seed 000" },
  m11_skill_idempotency_hits_total: { type: "counter", seed: "m11_skill_idempotency_hits_total", note: "seed 000" },
  m11_skill_idempotency_conflicts_total: {
    type: "counter",
    seed: "m11_skill_idempotency_conflicts_total",
    note: "seed 000",
  },
  m11_circuit_breaker_state: { type: "gauge", seed: "m11_circuit_breaker_state", note: "seed 000" },
  m11_circuit_breaker_failures_total: { type: "counter", seed: "m11_circuit_breaker_failures_total", note: "seed 000" },
  m11_circuit_breaker_successes_total: {
    type: "counter",
    seed: "m11_circuit_breaker_successes_total",
    note: "seed 000",
  },
  m11_circuit_breaker_opens_total: { type: "counter", seed: "m11_circuit_breaker_opens_total", note: "seed 000" },
  m11_circuit_breaker_closes_total: { type: "counter", seed: "m11_circuit_breaker_closes_total", note: "seed 000" },
  m11_circuit_breaker_rejected_total: { type: "counter", seed: "m11_circuit_breaker_rejected_total", note: "seed 000" },
  m11_audit_ops_total: { type: "counter", seed: "m11_audit_ops_total", note: "seed 000 (core/workflows)" },
  m11_replay_runs_total: { type: "counter", seed: "m11_replay_runs_total", note: "seed 000 (core/workflows)" },
  m11_replay_ops_verified_total: {
    type: "counter",
    seed: "m11_replay_ops_verified_total",
    note: "seed 000 (core/workflows)",
  },
  m11_replay_ops_mismatched_total: {
    type: "counter",
    seed: "m11_replay_ops_mismatched_total",
    note: "seed 000 (core/workflows)",
  },
  m11_replay_verification_seconds: {
    type: "histogram",
    seed: "m11_replay_verification_seconds",
    note: "seed 000 (core/workflows)",
  },
  // Seed 004 (PIN-026, M6.2), recorded by the cost simulation shadow path (core/costsim/shadow-run.ts).
  costsim_v2_drift_score: {
    type: "histogram",
    seed: "costsim_v2_drift_score",
    note: "seed 004 (core/costsim)",
    unit: "none: a unitless 0-1 score, the seed's name kept",
  },
  costsim_v2_cost_delta_credits: {
    type: "histogram",
    seed: "costsim_v2_cost_delta_cents",
    note: "seed 004 (core/costsim), renamed: AOS prices in credits, not cents",
    unit: "credits: AOS's unit of price (V2 - V1), no base unit applies",
  },
  costsim_v2_schema_errors_total: { type: "counter", seed: "costsim_v2_schema_errors_total", note: "seed 004" },
  costsim_v2_simulation_duration_seconds: {
    type: "histogram",
    seed: "costsim_v2_simulation_duration_ms",
    note: "seed 004 (core/costsim), base unit",
  },
  costsim_v2_comparison_verdict_total: {
    type: "counter",
    seed: "costsim_v2_comparison_verdict_total",
    note: "seed 004",
  },
  // Seed 004 (M6.2) and seed 001 (PIN-028 #4), recorded by the drift breaker, its alert queue and
  // its canary (core/costsim/breaker.ts, alerts.ts, canary.ts; issue 19).
  costsim_v2_circuit_breaker_state: { type: "gauge", seed: "costsim_v2_circuit_breaker_state", note: "seed 004" },
  costsim_cb_disabled_total: { type: "counter", seed: "costsim_cb_disabled_total", note: "seed 001, label trigger" },
  costsim_cb_incidents_total: { type: "counter", seed: "costsim_cb_incidents_total", note: "seed 001, label trigger" },
  costsim_cb_alert_queue_depth: { type: "gauge", seed: "costsim_cb_alert_queue_depth", note: "seed 001" },
  costsim_cb_alert_send_failures_total: {
    type: "counter",
    seed: "costsim_cb_alert_send_failures_total",
    note: "seed 001, label kind",
  },
  costsim_cb_enabled_total: { type: "counter", seed: "costsim_cb_enabled_total", note: "seed 001, label how" },
  costsim_cb_auto_recovery_total: { type: "counter", seed: "costsim_cb_auto_recovery_total", note: "seed 001" },
  costsim_cb_consecutive_failures: { type: "gauge", seed: "costsim_cb_consecutive_failures", note: "seed 001" },
};

/**
 * Seed names no code records yet: they must NOT be declared until the code that records them
 * exists (the workflows issue declares the replay metrics where replay records them).
 */
export const seedNamedNotYetRecorded: string[] = [
  // Seed 004 (PIN-026, M6.2): the seed's spellings the shadow path renamed are never declared.
  "costsim_v2_cost_delta_cents",
  "costsim_v2_simulation_duration_ms",
];

/** `aos_<domain>_…`: the domains (and platform parts) a name may start with, and who owns each. */
export const domainPrefixes: Record<string, string> = {
  http: "functions/_lib/http.ts via core/platform/metrics",
  queue: "functions/_lib/sqs.ts via core/platform/metrics",
  cron: "functions/_lib/cron.ts via core/platform/metrics",
  metrics: "core/platform/metrics (the recorder itself)",
  outbox: "core/platform/outbox (each domain's outbox, labelled by its name)",
  breaker: "core/platform/breaker (every breaker kind but skills, which keep the seed's m11_circuit_breaker_*)",
  job: "core/jobs",
  credit: "core/credits",
  skill: "core/skills",
  status_history: "core/status-history",
  tenancy: "core/tenancy",
  failure: "core/failures",
  workflow: "core/workflows",
  agent: "core/agents",
  costsim: "core/costsim (its own metrics beside the seed's costsim_v2_*)",
};

/**
 * Labels whose values come from user data but that a seed requires: kept, bounded by the label
 * guard (METRICS_MAX_LABEL_VALUES distinct values per metric and label, then `other`).
 */
export const seedRequiredLabels: Record<string, readonly string[]> = {
  m11_skill_executions_total: ["tenant_id"],
  m11_circuit_breaker_state: ["target"],
  m11_circuit_breaker_failures_total: ["target"],
  m11_circuit_breaker_successes_total: ["target"],
  m11_circuit_breaker_opens_total: ["target"],
  m11_circuit_breaker_closes_total: ["target"],
  m11_circuit_breaker_rejected_total: ["target"],
};

/**
 * Labels without a declared allowlist whose values the code bounds (not user data): the reason.
 * Any other label must have an allowlist in its declaration.
 */
export const codeBoundedLabels: Record<string, string> = {
  route: "route keys of functions/routes.ts (allowRoutes at handler start; anything else is `other`)",
  queue: "queue names of functions/routes.ts",
  name: "schedule names of functions/routes.ts (cron metrics)",
  breaker: "breaker kinds, each defined once in code (defineBreaker)",
  circuit: "the targets a breaker kind names in code (costsim_v2, failure_persistence): never users' data",
  skill: "skill names of the registry (core/skills/registry.ts; an unknown skill is refused before any metric)",
  entry: "catalog entry ids of core/failures/catalog (data in the repo, about 60; never users' data)",
};

/** Label names that carry users' data: refused unless `seedRequiredLabels` lists the pair. */
export const userDataLabels = [
  "tenant",
  "tenant_id",
  "host",
  "hostname",
  "url",
  "target",
  "item_id",
  "job_id",
  "id",
  "key",
  "key_id",
  "user",
  "worker_id",
  "email",
  "path",
];

/** Units that are not base units (seconds, bytes) and must not appear as a name's suffix or part. */
export const nonBaseUnits = [
  "ms",
  "millis",
  "milliseconds",
  "us",
  "microseconds",
  "ns",
  "nanoseconds",
  "minutes",
  "hours",
  "days",
  "kb",
  "mb",
  "gb",
  "kilobytes",
  "megabytes",
  "gigabytes",
  "percent",
];

/** Prometheus' own series that rules may use (made by the scrape, not by AOS). */
export const prometheusSeries = [
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "ALERTS",
  "ALERTS_FOR_STATE",
];

/** Every series name AOS exports: counters and gauges as named, histograms as _bucket/_sum/_count. */
export function exportedSeries(defs: readonly MetricDef[]): Set<string> {
  const out = new Set<string>();
  for (const d of defs) {
    if (d.type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) out.add(d.name + s);
    else out.add(d.name);
  }
  return out;
}

/** A value for each label of `d` that the guard keeps (its first allowed value, else `x`). */
export function sampleLabels(d: MetricDef): Record<string, string> {
  return Object.fromEntries(d.labelNames.map((l) => [l, [...(d.allow.get(l) ?? [])][0] ?? "x"]));
}

/**
 * The merged value of one series as `GET /metrics` shows it (`name{a="x"}` exactly as rendered,
 * labels sorted by name), after flushing this process's metrics; 0 when absent.
 */
export async function metricValue(series: string): Promise<number> {
  const { flushMetrics, renderMetrics } = await import("../../core/platform/metrics/index.ts");
  await flushMetrics();
  const { body } = await renderMetrics();
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
