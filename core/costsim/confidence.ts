/**
 * V2's confidence, 0.0-1.0: how much of the estimate stands on the tenant's own history, and how
 * far a plan of this shape can be trusted at all. The seed asks for a score "based on skill
 * complexity" without a formula; this one is stated here and tested (monotone in sample size,
 * within 0-1):
 *
 *   samples(n)  = n / (n + MIN_HISTORY_SAMPLES)           0 with no history, 0.5 at the threshold
 *   data(step)  = (samples(duration n) + samples(failure n)) / 2
 *   complexity  = 1 / (1 + 0.05 (steps - 1) + 0.1 log10(max calls of a step) + 0.25 external share)
 *   step        = data(step) x complexity,   plan = mean over its steps
 *
 * More steps, a wider fan-out and calls that leave AOS (a breaker's skills, agents' items) each
 * lower it: their figures vary more than the history of a simple plan says.
 */
import { MIN_HISTORY_SAMPLES } from "./priors.ts";
import type { Plan } from "./schema.ts";

/** Weights of the complexity penalty, stated once. */
export const COMPLEXITY_WEIGHTS = Object.freeze({ perExtraStep: 0.05, perDecadeOfFanOut: 0.1, externalShare: 0.25 });

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

/** Confidence from `n` samples alone: 0 with none, 0.5 at MIN_HISTORY_SAMPLES, towards 1 beyond. */
export function sampleConfidence(n: number): number {
  return n <= 0 ? 0 : n / (n + MIN_HISTORY_SAMPLES);
}

/** The plan's complexity factor, in (0, 1]: 1 for one step of one call inside AOS. */
export function complexityOf(plan: Plan): number {
  const steps = plan.steps.length;
  const fanOut = Math.max(1, ...plan.steps.map((s) => s.calls));
  const external = steps === 0 ? 0 : plan.steps.filter((s) => s.external).length / steps;
  const w = COMPLEXITY_WEIGHTS;
  return (
    1 /
    (1 +
      w.perExtraStep * Math.max(0, steps - 1) +
      w.perDecadeOfFanOut * Math.log10(fanOut) +
      w.externalShare * external)
  );
}

/** One step's confidence from the samples behind its duration and its failure rate. */
export function stepConfidence(durationSamples: number, failureSamples: number, complexity: number): number {
  return round4(((sampleConfidence(durationSamples) + sampleConfidence(failureSamples)) / 2) * complexity);
}

/** The plan's confidence: the mean of its steps'. */
export function planConfidence(steps: readonly number[]): number {
  return steps.length === 0 ? 0 : round4(steps.reduce((s, c) => s + c, 0) / steps.length);
}
