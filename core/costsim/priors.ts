/**
 * V1's stated priors: per skill, how long a call takes and how often an attempt fails. No data
 * stands behind them; they are the guesses V2 replaces with the tenant's own history, written
 * down so that an estimate can be explained and a skill without a prior is noticed (a test wants
 * one for every skill of the registry).
 *
 * - kv_store: a Redis round trip (tens of ms); an attempt fails about once in a thousand.
 * - webhook_send, slack_send: an outbound HTTPS POST to someone else's server.
 * - voyage_embed: an API call batched by the skill, slower as inputs grow (`per_unit_ms`).
 * - A skill without its own prior, and an `external` item (agents do the work), take the
 *   defaults of today's job simulation (core/jobs/simulate.ts DEFAULT_ITEM_S: 2 s and 30 s).
 */

export interface SkillPrior {
  /** A call's typical duration (its p50), before `per_unit_ms`. */
  duration_ms: number;
  /** A slow call (its p95), before `per_unit_ms`. */
  duration_p95_ms: number;
  /** Added per unit the call carries (voyage_embed: per input). */
  per_unit_ms: number;
  /** That one attempt fails. */
  p_failure: number;
  /** Of the failures, the share a retry may cure (the rest fail the step at once). */
  retryable_share: number;
}

export const SKILL_PRIORS: Readonly<Record<string, SkillPrior>> = Object.freeze({
  kv_store: { duration_ms: 20, duration_p95_ms: 100, per_unit_ms: 0, p_failure: 0.001, retryable_share: 0.5 },
  webhook_send: { duration_ms: 800, duration_p95_ms: 3_000, per_unit_ms: 0, p_failure: 0.03, retryable_share: 0.7 },
  slack_send: { duration_ms: 600, duration_p95_ms: 2_000, per_unit_ms: 0, p_failure: 0.02, retryable_share: 0.7 },
  voyage_embed: { duration_ms: 700, duration_p95_ms: 3_000, per_unit_ms: 5, p_failure: 0.02, retryable_share: 0.8 },
});

/** A skill with no prior of its own (DEFAULT_ITEM_S.skill of core/jobs/simulate.ts). */
export const DEFAULT_SKILL_PRIOR: SkillPrior = Object.freeze({
  duration_ms: 2_000,
  duration_p95_ms: 10_000,
  per_unit_ms: 0,
  p_failure: 0.05,
  retryable_share: 0.5,
});

/** A job item of the `external` task: an agent claims and works it (DEFAULT_ITEM_S.external). */
export const EXTERNAL_PRIOR: SkillPrior = Object.freeze({
  duration_ms: 30_000,
  duration_p95_ms: 120_000,
  per_unit_ms: 0,
  p_failure: 0.05,
  retryable_share: 0.5,
});

/** The task name of a job whose items agents work over HTTP (core/jobs EXTERNAL_TASK). */
export const EXTERNAL_TASK = "external";

/** The prior of a skill (or of `external`). */
export function priorOf(skill: string): SkillPrior {
  if (skill === EXTERNAL_TASK) return EXTERNAL_PRIOR;
  return SKILL_PRIORS[skill] ?? DEFAULT_SKILL_PRIOR;
}

/**
 * Attempts of a workflow step whose skill fails retryably: WORKFLOW_STEP_MAX_ATTEMPTS's default.
 * A caller with the configuration passes `config().workflows.stepMaxAttempts` instead.
 */
export const DEFAULT_STEP_MAX_ATTEMPTS = 3;

/** Below this many samples a history figure is thin and V2 keeps V1's prior (and says so). */
export const MIN_HISTORY_SAMPLES = 20;
