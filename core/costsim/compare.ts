/**
 * V1 against V2, for the shadow path (GitHub Scientist's control and candidate: V1's reply is the
 * one returned, V2's is compared and recorded). Every comparison is traceable by hashes: SHA-256
 * of the canonical JSON (sorted keys) of the input (the plan and the feasibility options), the
 * history V2 read, and each output.
 *
 * The seed gives the thresholds (COSTSIM_DRIFT_THRESHOLD 0.2 pages, COSTSIM_DRIFT_WARNING_THRESHOLD
 * 0.15 warns, both "drift > threshold") and the verdict names, not the score. Decided here:
 *
 *   drift = 0.6 rel(credits) + 0.25 rel(duration) + 0.15 |p_failure v1 - p_failure v2|
 *   rel(a, b) = |a - b| / max(|a|, |b|)   (0 when equal; in 0..1, symmetric)
 *
 * so drift is in 0..1, cost weighs most (it is a cost simulator; V1's durations are priors), and a
 * total disagreement on duration alone (0.25) still pages. The verdict, first that applies:
 * `v2_error` (V2 threw, or its reply is not the SimulateReplyV2 shape: a schema error), `mismatch`
 * (V1 and V2 disagree on feasibility: one would refuse what the other lets run, whatever the
 * score), `major_drift` (drift > drift threshold), `minor_drift` (drift > warning threshold),
 * `match`. A score equal to a threshold is below it, as the seed's alerts compare with ">".
 */
import { safeParse } from "zod/mini";
import { AppError } from "../errors.ts";
import { canonicalJson, hashArgs } from "../platform/idempotency/canonical.ts";
import type { FeasibilityOptions } from "./estimate.ts";
import {
  type Comparison,
  type HistoryInput,
  type Plan,
  type SimulateReplyV1,
  SimulateReplyV2,
  type Verdict,
} from "./schema.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";

/** COSTSIM_DRIFT_THRESHOLD and COSTSIM_DRIFT_WARNING_THRESHOLD, passed in by the caller. */
export interface DriftThresholds {
  /** Above it: major_drift (the seed's P1, 0.2). */
  drift: number;
  /** Above it: minor_drift (the seed's P2, 0.15). */
  warning: number;
}

/** The seed's values (PIN-026 configuration), for callers without configuration and for tests. */
export const SEED_THRESHOLDS: DriftThresholds = Object.freeze({ drift: 0.2, warning: 0.15 });

export const DRIFT_WEIGHTS = Object.freeze({ cost: 0.6, duration: 0.25, failure: 0.15 });

/** SHA-256 (hex) of the canonical JSON of `v`: equal values hash equally whatever their key order. */
export function hashOf(v: unknown): string {
  return hashArgs(v === undefined ? null : v);
}

/** The canonical JSON `hashOf` hashes (sorted keys, no spaces). */
export const canonicalOf = (v: unknown): string => canonicalJson(v === undefined ? null : v);

/** |a - b| / max(|a|, |b|): 0 when equal, 1 when one is 0 and the other not. */
export function relativeDifference(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

type Figures = Pick<SimulateReplyV1, "credits" | "duration_ms" | "p_failure">;

/** The drift score of two estimates, 0..1 (4 decimals). */
export function driftScore(v1: Figures, v2: Figures): number {
  const w = DRIFT_WEIGHTS;
  const s =
    w.cost * relativeDifference(v1.credits, v2.credits) +
    w.duration * relativeDifference(v1.duration_ms, v2.duration_ms) +
    w.failure * Math.abs(v1.p_failure - v2.p_failure);
  return Math.round(Math.min(1, s) * 10_000) / 10_000;
}

/** The verdict of a score (V2 answered; `feasibilityDiffers`: V1 and V2 decide feasibility apart). */
export function verdictOf(score: number, thresholds: DriftThresholds, feasibilityDiffers = false): Verdict {
  if (feasibilityDiffers) return "mismatch";
  if (score > thresholds.drift) return "major_drift";
  if (score > thresholds.warning) return "minor_drift";
  return "match";
}

export interface CompareInput {
  plan: Plan;
  /** The options that are part of the input (its hash): those the simulate was given. */
  options?: FeasibilityOptions;
  history: HistoryInput;
  v1: SimulateReplyV1;
  /** V2's reply, or what it threw. */
  v2: unknown;
}

function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof AppError) return { code: e.code, message: e.message };
  return { code: "costsim.v2_threw", message: e instanceof Error ? e.message : String(e) };
}

/**
 * The comparison of V1's and V2's replies (or V2's error) for one plan.
 *
 * @example
 *   const c = Costsim.compare({ plan, history, v1, v2 }, { drift: 0.2, warning: 0.15 });
 *   c.verdict; // "match" | "minor_drift" | "major_drift" | "mismatch" | "v2_error"
 */
export function compare(input: CompareInput, thresholds: DriftThresholds): Comparison {
  const base = {
    input_hash: hashOf({ plan: input.plan, options: input.options ?? {} }),
    history_hash: hashOf(input.history),
    v1_output_hash: hashOf(input.v1),
    v1_credits: input.v1.credits,
    v1_duration_ms: input.v1.duration_ms,
  };
  const failed = (v2_error: { code: string; message: string }): Comparison => ({
    ...base,
    v2_output_hash: null,
    verdict: "v2_error",
    drift_score: null,
    v2_credits: null,
    cost_delta: null,
    v2_duration_ms: null,
    v2_error,
  });
  if (input.v2 instanceof Error) return failed(errorOf(input.v2));
  const r = safeParse(SimulateReplyV2, input.v2);
  if (!r.success) {
    const fields = r.error.issues.map((i) => i.path.join(".") || "(reply)");
    return failed({ code: "costsim.v2_schema", message: `V2's reply is not its schema: ${fields.join(", ")}` });
  }
  const v2 = r.data;
  const score = driftScore(input.v1, v2);
  const a = input.v1.feasibility.feasible;
  const b = v2.feasibility.feasible;
  return {
    ...base,
    v2_output_hash: hashOf(input.v2),
    verdict: verdictOf(score, thresholds, a !== null && b !== null && a !== b),
    drift_score: score,
    v2_credits: v2.credits,
    cost_delta: Math.round((v2.credits - input.v1.credits) * 10_000) / 10_000,
    v2_duration_ms: v2.duration_ms,
    v2_error: null,
  };
}

/**
 * V1 for the caller, V2 beside it and compared (Scientist's `science`): V1's reply is returned
 * whatever V2 does; a V2 that throws is a `v2_error` comparison, never the caller's error. A V1
 * that throws is the caller's error (it is production).
 */
export function shadow(
  plan: Plan,
  history: HistoryInput,
  thresholds: DriftThresholds,
  options: FeasibilityOptions = {},
): { reply: SimulateReplyV1; v2: unknown; comparison: Comparison } {
  const v1 = simulateV1(plan, options);
  let v2: unknown;
  try {
    v2 = simulateV2(plan, history, options);
  } catch (e) {
    v2 = e instanceof Error ? e : new Error(String(e));
  }
  return { reply: v1, v2, comparison: compare({ plan, options, history, v1, v2 }, thresholds) };
}
