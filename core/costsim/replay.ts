/**
 * The canary's look at recent traffic: the deployed V1 and V2 run again on the newest inputs the
 * shadow recorded (costsim_provenance_inputs, migration 0029: each comparison's plan, options and
 * the history V2 read), at most COSTSIM_CANARY_REPLAY_SAMPLES of them from the last
 * COSTSIM_CANARY_WINDOW_HOURS, every tenant's, and compared as the shadow compares (compare.ts).
 *
 * So the canary judges the V2 that is deployed, not the replies recorded: a V2 deployed since the
 * comparisons were made is judged on the plans its predecessor saw, and a V2 disabled by the drift
 * breaker (which records nothing while disabled) is judged, when its TTL is over, on the inputs
 * that tripped it: where they fail this check (V2's errors, its credits far from V1's), the same
 * code fails again and V2 stays disabled; a fixed V2 passes.
 *
 * It fails when KL(V1 || V2) of credits over fixed bins is above COSTSIM_CANARY_MAX_KL, or when V2
 * fails (throws, or answers outside its schema) on any of the inputs; with fewer than
 * COSTSIM_CANARY_MIN_SAMPLES inputs it is insufficient data, which neither passes nor fails (the
 * datasets decide). The figures are aggregates: no tenant, plan or hash is named.
 */
import { gunzipSync } from "node:zlib";
import { config } from "../config.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import * as sql from "./canary.sql.ts";
import { compare, hashOf } from "./compare.ts";
import type { ComparisonInput } from "./record.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";
import { binCounts, COST_BINS, DURATION_BINS_MS, klFromCounts, quantile, roundOrNull } from "./statistics.ts";

export interface ReplayCheck {
  from: string;
  to: string;
  /** Inputs read (the newest in the window, at most `max_inputs`). */
  inputs: number;
  max_inputs: number;
  /** Inputs that could not be read back as the input of their comparison, or that V1 cannot price (skipped, logged). */
  unreadable: number;
  /** Inputs run again. */
  samples: number;
  min_samples: number;
  outcome: "pass" | "fail" | "insufficient_data";
  kl_credits: number | null;
  kl_duration_ms: number | null;
  max_kl: number;
  p95_drift: number | null;
  over_drift_threshold: number;
  verdicts: Record<string, number>;
  /** V2's failures by error code. */
  v2_errors: Record<string, number>;
  /** Inputs on which V2 now answers otherwise than it did when recorded (a V2 deployed since). */
  changed_since_recorded: number;
}

/** Run V1 and V2 again on the window's newest inputs and judge them. */
export async function replayRecent(now: Date): Promise<ReplayCheck> {
  const c = config().costsim;
  const from = new Date(now.getTime() - c.canary.windowHours * 3600_000);
  const { rows } = await query<{ input_gz: Buffer; input_hash: string; v2_hash: string | null }>(sql.recentInputs, [
    from,
    now,
    c.canary.replaySamples,
  ]);
  const credits: [number[], number[]] = [[], []];
  const durations: [number[], number[]] = [[], []];
  const drifts: number[] = [];
  const verdicts: Record<string, number> = {};
  const v2Errors: Record<string, number> = {};
  let unreadable = 0;
  let changed = 0;
  for (const row of rows) {
    let input: ComparisonInput;
    let v1: ReturnType<typeof simulateV1>;
    try {
      input = JSON.parse(gunzipSync(row.input_gz).toString("utf8")) as ComparisonInput;
      if (hashOf({ plan: input.plan, options: input.given }) !== row.input_hash) throw new Error("input hash differs");
      // V1 is production: an input it cannot price (a plan of another shape) is not V2's failure.
      v1 = simulateV1(input.plan, input.options);
    } catch (e) {
      unreadable += 1;
      log.warn("canary: a recorded input could not be read back or priced by V1; skipped", { err: e });
      continue;
    }
    let v2: unknown;
    try {
      v2 = simulateV2(input.plan, input.history, input.options);
    } catch (e) {
      v2 = e instanceof Error ? e : new Error(String(e));
    }
    const cmp = compare(
      { plan: input.plan, options: input.given, history: input.history, v1, v2 },
      { drift: c.driftThreshold, warning: c.driftWarningThreshold },
    );
    verdicts[cmp.verdict] = (verdicts[cmp.verdict] ?? 0) + 1;
    if (cmp.v2_output_hash !== row.v2_hash) changed += 1;
    if (cmp.v2_error) {
      v2Errors[cmp.v2_error.code] = (v2Errors[cmp.v2_error.code] ?? 0) + 1;
      continue;
    }
    credits[0].push(cmp.v1_credits);
    credits[1].push(cmp.v2_credits as number);
    durations[0].push(cmp.v1_duration_ms);
    durations[1].push(cmp.v2_duration_ms as number);
    drifts.push(cmp.drift_score as number);
  }
  const samples = rows.length - unreadable;
  const klCredits = klFromCounts(binCounts(credits[0], COST_BINS), binCounts(credits[1], COST_BINS));
  const klDuration = klFromCounts(binCounts(durations[0], DURATION_BINS_MS), binCounts(durations[1], DURATION_BINS_MS));
  const failedOn = Object.values(v2Errors).reduce((a, b) => a + b, 0);
  const outcome =
    samples < c.canary.minSamples
      ? "insufficient_data"
      : failedOn > 0 || (klCredits !== null && klCredits > c.canary.maxKlDivergence)
        ? "fail"
        : "pass";
  return {
    from: from.toISOString(),
    to: now.toISOString(),
    inputs: rows.length,
    max_inputs: c.canary.replaySamples,
    unreadable,
    samples,
    min_samples: c.canary.minSamples,
    outcome,
    kl_credits: klCredits,
    kl_duration_ms: klDuration,
    max_kl: c.canary.maxKlDivergence,
    p95_drift: roundOrNull(quantile(drifts, 0.95)),
    over_drift_threshold: drifts.filter((d) => d > c.driftThreshold).length,
    verdicts,
    v2_errors: v2Errors,
    changed_since_recorded: changed,
  };
}

/** What a failing replay says, one line per reason (the canary's `failures`). */
export function replayFailures(r: ReplayCheck): string[] {
  if (r.outcome !== "fail") return [];
  const out: string[] = [];
  if (r.kl_credits !== null && r.kl_credits > r.max_kl)
    out.push(`KL(V1 || V2) of credits ${r.kl_credits} > ${r.max_kl} over ${r.samples} recent inputs run again`);
  const failed = Object.values(r.v2_errors).reduce((a, b) => a + b, 0);
  if (failed > 0)
    out.push(
      `V2 failed on ${failed} of ${r.samples} recent inputs run again (${Object.entries(r.v2_errors)
        .map(([code, n]) => `${code} x${n}`)
        .join(", ")})`,
    );
  return out;
}
