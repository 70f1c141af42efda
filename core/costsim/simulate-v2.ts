/**
 * V2, the candidate estimator: V1's arithmetic with figures calibrated from the tenant's history,
 * passed in as plain data (nothing is read here). Per step, where the history holds at least
 * MIN_HISTORY_SAMPLES samples:
 *
 * - duration: the done items of the task's recent jobs (a job), else the skill's calls in
 *   skill_metrics. A per-unit skill's observed duration is moved along the prior's per-unit time
 *   to the units this step carries (d = p50 + per_unit_ms x (units here - units observed)).
 * - failure: the skill's failed calls over its calls in skill_metrics (per attempt).
 * - retries: the failure catalog's shares of the skill's failures by is_retryable.
 * - credits: what the cost models price when the args are known (as V1); when they need an
 *   earlier step's result, the skill's base plus its per-unit price for the units observed per call.
 *
 * Where the history is thinner, the figure is V1's prior, and the step says so (`basis`,
 * `fallback`, a `costsim.thin_history` risk). `confidence` is confidence.ts's.
 */
import { safeParse } from "zod/mini";
import { fieldIssues } from "../errors.ts";
import { complexityOf, planConfidence, stepConfidence } from "./confidence.ts";
import { HistoryInvalidError } from "./errors.ts";
import { type CallFigures, estimateStep, type FeasibilityOptions, replyOf } from "./estimate.ts";
import { itemHistory, retryableShare, type SkillHistory, skillHistory } from "./history.ts";
import { fromUnits, toUnits } from "./plan.ts";
import { MIN_HISTORY_SAMPLES, priorOf } from "./priors.ts";
import {
  History,
  type HistoryInput,
  type Note,
  type Plan,
  type PlanStep,
  type SimulateReplyV2,
  type StepBasis,
  type StepEstimateV2,
} from "./schema.ts";
import { priorFigures } from "./simulate-v1.ts";

const thick = (n: number) => n >= MIN_HISTORY_SAMPLES;

/** Credits of a step under V2, and where they came from. */
function creditsOf(step: PlanStep, sk: SkillHistory): { credits: number; basis: StepBasis["credits"] } {
  if (step.units !== null) return { credits: step.credits, basis: "args" };
  if (step.unit_credits === 0 || !thick(sk.unit_calls) || sk.units_per_call === null)
    return { credits: step.credits, basis: "prior" };
  const perCall = toUnits(step.base_credits + step.unit_credits * sk.units_per_call);
  return { credits: fromUnits(Math.max(toUnits(step.floor_credits), perCall) * step.calls), basis: "history" };
}

/** Per-call duration under V2: observed (job items, then skill calls) or the prior. */
function durationOf(plan: Plan, step: PlanStep, sk: SkillHistory, h: History) {
  const prior = priorFigures(step);
  const items = plan.kind === "job" ? itemHistory(h, step.skill) : null;
  if (items && thick(items.samples) && items.duration_p50_ms !== null) {
    const p50 = items.duration_p50_ms;
    return { p50, p95: items.duration_p95_ms ?? p50, basis: "job_items" as const, samples: items.samples };
  }
  if (thick(sk.duration_calls) && sk.duration_p50_ms !== null) {
    const perUnit = priorOf(step.skill).per_unit_ms;
    const here = step.units === null ? sk.units_per_call : step.units / step.calls;
    const shift = perUnit > 0 && here !== null && sk.units_per_call !== null ? perUnit * (here - sk.units_per_call) : 0;
    const p50 = Math.max(0, sk.duration_p50_ms + shift);
    const p95 = Math.max(p50, (sk.duration_p95_ms ?? sk.duration_p50_ms) + shift);
    return { p50, p95, basis: "skill_metrics" as const, samples: sk.duration_calls };
  }
  return { p50: prior.duration_ms, p95: prior.duration_p95_ms, basis: "prior" as const, samples: 0 };
}

/**
 * V2's estimate of a plan from the tenant's history. Throws HistoryInvalidError when `history`
 * is not the shape of History (the shadow path records that as a v2_error).
 *
 * @example
 *   const history = { skill_metrics: rows, job_items: [{ task: "kv_store", samples: 400, duration_p50_ms: 35, duration_p95_ms: 90 }] };
 *   Costsim.simulateV2(plan, history); // { version: "v2", confidence: 0.87, steps: [{ basis: { duration: "job_items", ... } }] }
 */
export function simulateV2(plan: Plan, history: HistoryInput, options: FeasibilityOptions = {}): SimulateReplyV2 {
  const parsed = safeParse(History, history);
  if (!parsed.success) throw new HistoryInvalidError(fieldIssues("history", parsed.error));
  const h = parsed.data;
  const complexity = complexityOf(plan);
  const figures: CallFigures[] = [];
  const steps: StepEstimateV2[] = [];
  const thin: Note[] = [];
  for (const step of plan.steps) {
    const prior = priorFigures(step);
    const sk = skillHistory(h, step.skill);
    const credits = creditsOf(step, sk);
    const duration = durationOf(plan, step, sk, h);
    const failureThick = thick(sk.calls);
    const share = retryableShare(h, step.skill, prior.retryable_share);
    const f: CallFigures = {
      duration_ms: duration.p50,
      duration_p95_ms: duration.p95,
      p_failure: failureThick ? sk.failures / sk.calls : prior.p_failure,
      retryable_share: share ?? prior.retryable_share,
    };
    const basis: StepBasis = {
      credits: credits.basis,
      duration: duration.basis,
      failure: failureThick ? "skill_metrics" : "prior",
      retry: share !== null ? "failure_catalog" : "prior",
    };
    // A retry share weighs nothing when the skill is seen never to fail: not a fallback worth a note.
    const fallback = (Object.keys(basis) as (keyof StepBasis)[]).filter(
      (k) => basis[k] === "prior" && !(k === "retry" && f.p_failure === 0),
    );
    if (fallback.length > 0)
      thin.push({
        code: "costsim.thin_history",
        step: step.id,
        message: `fewer than ${MIN_HISTORY_SAMPLES} samples of ${step.skill} in the history: ${fallback.join(", ")} from V1's priors`,
      });
    figures.push(f);
    steps.push({
      ...estimateStep(step, credits.credits, f, plan.parallelism),
      basis,
      samples: duration.samples,
      fallback,
      confidence: stepConfidence(duration.samples, failureThick ? sk.calls : 0, complexity),
    });
  }
  const reply = replyOf(plan, steps, figures, options);
  return {
    version: "v2",
    ...reply,
    risks: [...reply.risks, ...thin],
    steps,
    confidence: planConfidence(steps.map((s) => s.confidence)),
  };
}
