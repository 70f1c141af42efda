/**
 * The tenant's history, per skill and per task, as V2 reads it: skill_metrics' hourly rows summed
 * (calls, failures) or weighted by calls (duration quantiles and units per call: an approximation,
 * since a median of hourly medians is not the median of the calls; exact quantiles need the calls
 * themselves, which the view does not keep), job item durations per task, and the failure
 * catalog's shares of a skill's failures. Pure: the caller reads the rows.
 */
import type { History } from "./schema.ts";

export interface SkillHistory {
  calls: number;
  failures: number;
  /** Calls of the rows with durations: the samples behind the quantiles. */
  duration_calls: number;
  duration_p50_ms: number | null;
  duration_p95_ms: number | null;
  /** Calls of the rows with units recorded. */
  unit_calls: number;
  units_per_call: number | null;
}

/** Calls-weighted mean of `value` over the rows that have one, with the weight behind it. */
function weighted<T>(rows: readonly T[], calls: (r: T) => number, value: (r: T) => number | null) {
  let w = 0;
  let sum = 0;
  for (const r of rows) {
    const v = value(r);
    if (v === null || calls(r) === 0) continue;
    w += calls(r);
    sum += calls(r) * v;
  }
  return { weight: w, mean: w > 0 ? sum / w : null };
}

/** The skill_metrics rows of `skill`, summed over their hours. */
export function skillHistory(h: History, skill: string): SkillHistory {
  const rows = h.skill_metrics.filter((r) => r.skill_name === skill);
  const p50 = weighted(
    rows,
    (r) => r.calls,
    (r) => r.duration_p50_ms,
  );
  const p95 = weighted(
    rows,
    (r) => r.calls,
    (r) => r.duration_p95_ms,
  );
  const units = weighted(
    rows,
    (r) => r.calls,
    (r) => r.units_per_call,
  );
  return {
    calls: rows.reduce((s, r) => s + r.calls, 0),
    failures: rows.reduce((s, r) => s + Math.min(r.failures, r.calls), 0),
    duration_calls: p50.weight,
    duration_p50_ms: p50.mean,
    duration_p95_ms: p95.mean,
    unit_calls: units.weight,
    units_per_call: units.mean,
  };
}

/** Done items of the task's recent jobs: their count and duration quantiles (samples-weighted). */
export function itemHistory(h: History, task: string) {
  const rows = h.job_items.filter((r) => r.task === task);
  const p50 = weighted(
    rows,
    (r) => r.samples,
    (r) => r.duration_p50_ms,
  );
  const p95 = weighted(
    rows,
    (r) => r.samples,
    (r) => r.duration_p95_ms,
  );
  return { samples: p50.weight, duration_p50_ms: p50.mean, duration_p95_ms: p95.mean };
}

/**
 * The share of a skill's failures a retry may cure, from the failure catalog: the catalogued
 * entries' shares by their is_retryable, the rest (misses, entries not listed) at `prior`. Null
 * when the catalog lists nothing for the skill.
 */
export function retryableShare(h: History, skill: string, prior: number): number | null {
  const rows = h.failures.filter((r) => r.skill === skill && r.rate > 0);
  if (rows.length === 0) return null;
  const listed = Math.min(
    1,
    rows.reduce((s, r) => s + r.rate, 0),
  );
  const retryable = Math.min(
    listed,
    rows.reduce((s, r) => s + (r.is_retryable ? r.rate : 0), 0),
  );
  return retryable + (1 - listed) * prior;
}
