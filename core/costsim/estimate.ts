/**
 * The arithmetic V1 and V2 share: a step's figures from per-call figures (V1: priors; V2: the
 * tenant's history where it is thick enough), the totals, feasibility and the notes. Pure.
 *
 * Per call, with p the chance an attempt fails, r the share of failures a retry may cure and A
 * the attempts allowed: a retry follows a retryable failure (p r) while attempts remain, so the
 * expected attempts are E = (1 - (p r)^A) / (1 - p r), a call succeeds with (1 - p) E, and a step
 * of n calls fails with 1 - ((1 - p) E)^n. Failed attempts are not charged (decision 0007: held
 * credits are released), so retries cost time, not credits: an attempt takes the call's duration
 * (capped at its timeout) and the expected attempts multiply it. A job's items run in waves of
 * `parallelism`; a workflow's steps run one after another. A plan fails when any step does.
 */

import { fromUnits, toUnits } from "./plan.ts";
import { EXTERNAL_TASK } from "./priors.ts";
import type { Feasibility, Note, Plan, PlanStep, StepEstimate } from "./schema.ts";

/** What one call of a step is expected to do. */
export interface CallFigures {
  /** An attempt's typical duration (p50), units included. */
  duration_ms: number;
  /** A slow attempt (p95), units included. */
  duration_p95_ms: number;
  /** That one attempt fails. */
  p_failure: number;
  /** Of the failures, the share a retry may cure. */
  retryable_share: number;
}

/** The tighter of these limits decides feasibility; neither given: feasibility is unknown. */
export interface FeasibilityOptions {
  /** A cap the caller sets for this plan, in credits. */
  budget?: number;
  /** The tenant's available credits (Credits.balance().available), read by the caller. */
  availableCredits?: number;
}

/** Above this chance of failing, a plan says so among its risks. */
export const HIGH_FAILURE_P = 0.1;

export const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

/** A step's figures: `credits` as the estimator prices it, `f` per call. */
export function estimateStep(step: PlanStep, credits: number, f: CallFigures, parallelism: number): StepEstimate {
  // Args that can only fail: one attempt, and it fails (the errors are not retryable).
  const doomed = step.args === "unresolved" || step.args === "invalid";
  const p = doomed ? 1 : f.p_failure;
  const pr = doomed ? 0 : p * f.retryable_share;
  const attempts = pr >= 1 ? step.max_attempts : (1 - pr ** step.max_attempts) / (1 - pr);
  const callSucceeds = (1 - p) * attempts;
  const waves = Math.ceil(step.calls / Math.max(1, Math.min(parallelism, step.calls)));
  const capped = (ms: number) => Math.min(ms, step.timeout_ms);
  return {
    id: step.id,
    skill: step.skill,
    calls: step.calls,
    credits,
    duration_ms: Math.round(waves * capped(f.duration_ms) * attempts),
    duration_p95_ms: Math.round(waves * capped(f.duration_p95_ms) * attempts),
    p_failure: round4(1 - Math.min(1, callSucceeds) ** step.calls),
    expected_retries: round4(step.calls * (attempts - 1)),
  };
}

export function feasibilityOf(required: number, o: FeasibilityOptions): Feasibility {
  const limits: Array<[Feasibility["basis"], number]> = [];
  if (o.budget !== undefined) limits.push(["budget", o.budget]);
  if (o.availableCredits !== undefined) limits.push(["available_credits", o.availableCredits]);
  if (limits.length === 0) return { feasible: null, basis: "none", limit: null, required, shortfall: 0 };
  const [basis, limit] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
  const shortfall = Math.max(0, fromUnits(toUnits(required) - toUnits(limit)));
  return { feasible: shortfall === 0, basis, limit, required, shortfall };
}

/** The totals, feasibility, warnings and risks of a plan's step estimates (V1's and V2's). */
export function replyOf(
  plan: Plan,
  steps: readonly StepEstimate[],
  figures: readonly CallFigures[],
  o: FeasibilityOptions,
) {
  const credits = fromUnits(steps.reduce((s, e) => s + toUnits(e.credits), 0));
  const ok = steps.reduce((s, e) => s * (1 - e.p_failure), 1);
  const p_failure = round4(1 - ok);
  const feasibility = feasibilityOf(credits, o);
  const { warnings, risks } = notesOf(plan, figures, feasibility, p_failure);
  return {
    kind: plan.kind,
    credits,
    duration_ms: steps.reduce((s, e) => s + e.duration_ms, 0),
    duration_p95_ms: steps.reduce((s, e) => s + e.duration_p95_ms, 0),
    p_failure,
    expected_retries: round4(steps.reduce((s, e) => s + e.expected_retries, 0)),
    feasibility,
    warnings,
    risks,
  };
}

function notesOf(plan: Plan, figures: readonly CallFigures[], f: Feasibility, pFailure: number) {
  const warnings: Note[] = [];
  const risks: Note[] = [];
  if (f.feasible === false)
    warnings.push({
      code: f.basis === "budget" ? "costsim.over_budget" : "credits.insufficient",
      message: `${f.required} credits required, ${f.limit} ${f.basis === "budget" ? "budgeted" : "available"}: ${f.shortfall} short`,
    });
  if (plan.parallelism_asked !== null)
    warnings.push({
      code: "jobs.parallelism_above_limit",
      message: `parallelism ${plan.parallelism_asked} is above the limit of ${plan.parallelism}: at most ${plan.parallelism} items run at once`,
    });
  plan.steps.forEach((s, i) => {
    const step = s.id;
    if (s.args === "unresolved")
      warnings.push({
        code: "costsim.args_unresolved",
        step,
        message: `a $ref of step ${step} names nothing in the input: the run would fail there (workflows.unresolved_ref)`,
      });
    if (s.args === "invalid")
      warnings.push({
        code: "costsim.args_invalid",
        step,
        message: `step ${step}'s args, filled from the input, are refused by ${s.skill}: the run would fail there`,
      });
    if (s.units === null)
      risks.push({
        code: "costsim.units_unknown",
        step,
        message: `step ${step}'s args need an earlier step's result: priced at ${s.skill}'s base of ${s.base_credits} credits, the charge grows with its units`,
      });
    if (s.side_effects && s.max_attempts > 1)
      risks.push({
        code: "costsim.side_effect_retry",
        step,
        message: `${s.skill} has side effects and may be attempted ${s.max_attempts} times: a retry may repeat its side effect unless the receiver de-duplicates`,
      });
    if ((figures[i]?.duration_p95_ms ?? 0) >= s.timeout_ms)
      risks.push({
        code: "costsim.duration_over_timeout",
        step,
        message: `a slow call of ${s.skill} (p95 ${Math.round(figures[i]?.duration_p95_ms ?? 0)} ms) may reach its timeout of ${s.timeout_ms} ms`,
      });
    if (s.skill === EXTERNAL_TASK)
      risks.push({
        code: "costsim.external_needs_agents",
        step,
        message: "no AOS worker runs external items: they stay pending until agents claim them over HTTP",
      });
  });
  if (pFailure > HIGH_FAILURE_P)
    risks.push({
      code: "costsim.likely_failure",
      message: `the plan fails with probability ${pFailure} (above ${HIGH_FAILURE_P})`,
    });
  return { warnings, risks };
}
