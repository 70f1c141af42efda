/**
 * `validateDataset`: an estimator against a reference dataset, pure. Each sample's plan goes
 * through planOf (an invalid one must be refused with the expected code), each valid one through
 * the estimator; the figures are compared with the sample's expected outcome and the dataset's
 * own thresholds decide pass or fail. Every figure, its limit and the samples that missed are in
 * the report, so a failure says where (not only that it failed); fewer samples than the dataset's
 * `min_samples` is insufficient data, never a pass.
 */
import { AppError } from "../errors.ts";
import type { Dataset } from "./datasets.ts";
import { type PlanOptions, planOf } from "./plan.ts";
import type { History, Plan } from "./schema.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";
import { COST_BINS, klDivergence, median, roundOrNull } from "./statistics.ts";

/** What validation asks of an estimator: a plan's credits and duration (history when the sample has one). */
export type Estimator = (plan: Plan, history: History | undefined) => { credits: number; duration_ms: number };

/** V1 as an estimator (it reads no history). */
export const v1Estimator: Estimator = (plan) => simulateV1(plan);
/** V2 as an estimator: the sample's history, or none (then it falls back to V1's priors). */
export const v2Estimator: Estimator = (plan, history) => simulateV2(plan, history ?? {});

export interface DatasetCheck {
  value: number | null;
  limit: number;
  passed: boolean;
}

export interface DatasetReport {
  name: string;
  version: number;
  sample_count: number;
  valid_count: number;
  invalid_count: number;
  insufficient_data: boolean;
  cost_median_abs_error: number | null;
  cost_max_abs_error: number | null;
  /** Share of valid samples whose duration fell inside their range. */
  duration_in_range: number | null;
  /** Median distance (ms) of the durations from their range (0 inside it). */
  duration_median_abs_error_ms: number | null;
  kl_divergence: number | null;
  /** Share of invalid samples refused with the expected code; null when the dataset has none. */
  rejection_accuracy: number | null;
  /** Estimates against what the runs really did, for samples that carry it. */
  against_actual: { samples: number; cost_median_abs_error: number; duration_median_abs_error_ms: number } | null;
  /** Each figure against its threshold (rejection_accuracy only when the dataset has invalid samples). */
  checks: Record<string, DatasetCheck>;
  /** Samples that missed their expected outcome, and how. */
  misses: { id: string; reason: string }[];
  passed: boolean;
}

const codeOf = (e: unknown) => (e instanceof AppError ? e.code : e instanceof Error ? e.name : String(e));

/**
 * An estimator's report against a dataset.
 *
 * @example
 *   const r = Costsim.validateDataset(Costsim.dataset("mixed_city"), Costsim.v1Estimator);
 *   r.passed; r.cost_median_abs_error; r.misses;
 */
export function validateDataset(d: Dataset, estimator: Estimator, options: PlanOptions = {}): DatasetReport {
  const t = d.thresholds;
  const misses: { id: string; reason: string }[] = [];
  const costErrors: number[] = [];
  const durationErrors: number[] = [];
  const expectedCredits: number[] = [];
  const estimatedCredits: number[] = [];
  const actual: { cost: number; duration: number }[] = [];
  let inRange = 0;
  let invalid = 0;
  let refusedRight = 0;
  let errors = 0;
  for (const s of d.samples) {
    const exp = s.expected;
    let plan: Plan;
    try {
      plan = planOf(s.plan, options);
    } catch (e) {
      if ("rejected" in exp && codeOf(e) === exp.rejected) refusedRight++;
      else misses.push({ id: s.id, reason: `refused with ${codeOf(e)}: ${e instanceof Error ? e.message : ""}` });
      if ("rejected" in exp) invalid++;
      else errors++;
      continue;
    }
    if ("rejected" in exp) {
      invalid++;
      misses.push({ id: s.id, reason: `expected a refusal (${exp.rejected}); the plan was accepted` });
      continue;
    }
    let est: { credits: number; duration_ms: number };
    try {
      est = estimator(plan, s.history);
    } catch (e) {
      errors++;
      misses.push({ id: s.id, reason: `the estimator threw ${codeOf(e)}` });
      continue;
    }
    const costError = Math.round(Math.abs(est.credits - exp.credits) * 10_000) / 10_000;
    const [lo, hi] = exp.duration_ms;
    const off = est.duration_ms < lo ? lo - est.duration_ms : est.duration_ms > hi ? est.duration_ms - hi : 0;
    costErrors.push(costError);
    durationErrors.push(off);
    expectedCredits.push(exp.credits);
    estimatedCredits.push(est.credits);
    if (off === 0) inRange++;
    if (costError > t.max_cost_abs_error)
      misses.push({ id: s.id, reason: `credits ${est.credits}, expected ${exp.credits}` });
    if (off > 0) misses.push({ id: s.id, reason: `duration ${est.duration_ms} ms outside [${lo}, ${hi}]` });
    if (s.actual)
      actual.push({
        cost: Math.abs(est.credits - s.actual.credits),
        duration: Math.abs(est.duration_ms - s.actual.duration_ms),
      });
  }
  const valid = d.samples.length - invalid;
  const figures = {
    cost_median_abs_error: roundOrNull(median(costErrors)),
    cost_max_abs_error: costErrors.length ? Math.max(...costErrors) : null,
    duration_in_range: valid > 0 ? roundOrNull(inRange / valid) : null,
    duration_median_abs_error_ms: roundOrNull(median(durationErrors), 0),
    kl_divergence: klDivergence(expectedCredits, estimatedCredits, COST_BINS),
    rejection_accuracy: invalid > 0 ? roundOrNull(refusedRight / invalid) : null,
  };
  const atMost = (value: number | null, limit: number) => ({ value, limit, passed: value !== null && value <= limit });
  const atLeast = (value: number | null, limit: number) => ({ value, limit, passed: value !== null && value >= limit });
  const checks: Record<string, DatasetCheck> = {
    samples: atLeast(d.samples.length, t.min_samples),
    errors: atMost(errors, 0),
    cost_median_abs_error: atMost(figures.cost_median_abs_error, t.max_cost_median_abs_error),
    cost_max_abs_error: atMost(figures.cost_max_abs_error, t.max_cost_abs_error),
    duration_in_range: atLeast(figures.duration_in_range, t.min_duration_in_range),
    kl_divergence: atMost(figures.kl_divergence, t.max_kl_divergence),
  };
  if (invalid > 0) checks.rejection_accuracy = atLeast(figures.rejection_accuracy, t.min_rejection_accuracy);
  const insufficient = d.samples.length < t.min_samples || valid === 0;
  return {
    name: d.name,
    version: d.version,
    sample_count: d.samples.length,
    valid_count: valid,
    invalid_count: invalid,
    insufficient_data: insufficient,
    ...figures,
    against_actual:
      actual.length === 0
        ? null
        : {
            samples: actual.length,
            cost_median_abs_error: roundOrNull(median(actual.map((a) => a.cost))) as number,
            duration_median_abs_error_ms: roundOrNull(median(actual.map((a) => a.duration)), 0) as number,
          },
    checks,
    misses,
    passed: !insufficient && Object.values(checks).every((c) => c.passed),
  };
}
