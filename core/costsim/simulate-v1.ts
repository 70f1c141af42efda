/**
 * V1, the production estimator: credits from the skills' cost models (fixed in the plan, the same
 * figures a run reserves and a spawn holds), duration and failure from the stated priors of
 * priors.ts. Knows nothing of the tenant; pure.
 */
import { type CallFigures, estimateStep, type FeasibilityOptions, replyOf } from "./estimate.ts";
import { priorOf } from "./priors.ts";
import type { Plan, PlanStep, SimulateReplyV1 } from "./schema.ts";

/** A step's per-call figures from its skill's prior (per-unit time for the units it carries). */
export function priorFigures(step: PlanStep, unitsPerCall = step.units === null ? 0 : step.units / step.calls) {
  const prior = priorOf(step.skill);
  const extra = prior.per_unit_ms * unitsPerCall;
  return {
    duration_ms: prior.duration_ms + extra,
    duration_p95_ms: prior.duration_p95_ms + extra,
    p_failure: prior.p_failure,
    retryable_share: prior.retryable_share,
  } satisfies CallFigures;
}

/**
 * V1's estimate of a plan: per step and in total, credits, duration, chance of failure, expected
 * retries, feasibility against a budget or the available credits, warnings and risks.
 *
 * @example
 *   const plan = Costsim.planOf({ job: { task: "kv_store", items } });
 *   Costsim.simulateV1(plan, { availableCredits: 500 }); // { version: "v1", credits: 40, feasibility: { feasible: true, ... }, ... }
 */
export function simulateV1(plan: Plan, options: FeasibilityOptions = {}): SimulateReplyV1 {
  const figures = plan.steps.map((s) => priorFigures(s));
  const steps = plan.steps.map((s, i) => estimateStep(s, s.credits, figures[i] as CallFigures, plan.parallelism));
  return { version: "v1", ...replyOf(plan, steps, figures, options), steps };
}
