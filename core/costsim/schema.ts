/**
 * The cost simulation domain's shapes (zod/mini): what a plan is (as given and as normalised),
 * what V1 and V2 reply, the history V2 calibrates from, and a V1/V2 comparison. Credits have 4
 * decimals, durations are integer milliseconds, probabilities are 0-1 with 4 decimals.
 */
import * as z from "zod/mini";
import { Amount } from "../credits/index.ts";

const Name = z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "lower-case letters, digits and _"));
const Probability = z.number().check(z.minimum(0), z.maximum(1));
const NonNegative = z.number().check(z.minimum(0));
const Ms = z.int().check(z.minimum(0));

/**
 * A workflow step as core/workflows declares it (its WorkflowStep), restated structurally so that
 * workflows may import costsim without a cycle. Args may hold `{"$ref": "input.<path>"}` or
 * `{"$ref": "steps.<earlier id>.result.<path>"}`.
 */
export const PlanWorkflowStep = z.strictObject({
  id: Name,
  skill: Name,
  args: z._default(z.record(z.string(), z.unknown()), {}),
  transient: z.optional(z.boolean()),
  timeout_s: z.optional(z.int().check(z.minimum(1), z.maximum(900))),
});
export type PlanWorkflowStep = z.output<typeof PlanWorkflowStep>;

/** A workflow to simulate: inline steps (a registered definition's, or a draft) and the run's input. */
export const WorkflowPlanInput = z.strictObject({
  workflow: z.strictObject({
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
    steps: z.array(PlanWorkflowStep).check(z.minLength(1), z.maxLength(100)),
  }),
  input: z._default(z.record(z.string(), z.unknown()), {}),
});
export type WorkflowPlanInput = z.output<typeof WorkflowPlanInput>;

/** A job spawn body as core/jobs takes it (its JobSpawn, restated structurally), to simulate. */
export const JobPlanInput = z.strictObject({
  job: z.strictObject({
    task: Name,
    items: z.array(z.strictObject({ input: z.unknown() })).check(z.minLength(1), z.maxLength(10_000)),
    parallelism: z._default(z.int().check(z.minimum(1), z.maximum(1000)), 10),
    credits_per_item: z._default(Amount, 1),
    max_attempts: z._default(z.int().check(z.minimum(1), z.maximum(20)), 3),
    item_timeout_s: z._default(z.int().check(z.minimum(1), z.maximum(900)), 60),
    metadata: z.optional(z.record(z.string(), z.unknown())),
  }),
});
export type JobPlanInput = z.output<typeof JobPlanInput>;

export const PlanInput = z.union([WorkflowPlanInput, JobPlanInput]);
export type PlanInput = z.input<typeof PlanInput>;

/**
 * How a step's args stand before the run: `known` (resolved from the input and valid),
 * `later` (they need an earlier step's result), `unresolved` (an input `$ref` names nothing: the
 * step will fail), `invalid` (resolved from the input but refused by the skill: it will fail).
 */
export const ArgsState = z.enum(["known", "later", "unresolved", "invalid"]);
export type ArgsState = z.output<typeof ArgsState>;

/** One step of the normalised plan: a workflow step (one call) or a job's items (one call each). */
export const PlanStep = z.object({
  id: z.string(),
  /** A skill of the registry, or `external` (a job's items worked by agents). */
  skill: z.string(),
  /** Calls leave AOS (the skill has a circuit breaker, or agents do the work). */
  external: z.boolean(),
  side_effects: z.boolean(),
  calls: z.int().check(z.minimum(1)),
  /** Units over all calls as skill_metrics counts them (Skills.units); null when not known before the run. */
  units: z.nullable(NonNegative),
  args: ArgsState,
  /** What the cost models price before the run (unknown units at the skill's base, as estimateStep does). */
  credits: NonNegative,
  base_credits: NonNegative,
  unit_credits: NonNegative,
  /** A job's credits_per_item: an item costs at least this (jobs/price.ts); 0 for a workflow step. */
  floor_credits: NonNegative,
  max_attempts: z.int().check(z.minimum(1)),
  timeout_ms: Ms,
});
export type PlanStep = z.output<typeof PlanStep>;

export const Plan = z.object({
  kind: z.enum(["workflow", "job"]),
  /** The workflow's name or the job's task; null for an unnamed draft. */
  name: z.nullable(z.string()),
  /** Calls of one step in flight at once (a job's parallelism, capped); 1 for a workflow. */
  parallelism: z.int().check(z.minimum(1)),
  /** Set when the parallelism asked for was above the cap: the figure asked. */
  parallelism_asked: z.nullable(z.int()),
  steps: z.array(PlanStep),
});
export type Plan = z.output<typeof Plan>;

/** A warning (it would be refused, or fail) or a risk (it may not go as hoped). */
export const Note = z.object({ code: z.string(), message: z.string(), step: z.optional(z.string()) });
export type Note = z.output<typeof Note>;

export const Feasibility = z.object({
  /** Null when neither a budget nor the available credits were given: never a pass on no data. */
  feasible: z.nullable(z.boolean()),
  basis: z.enum(["budget", "available_credits", "none"]),
  /** The tighter of the budget and the available credits. */
  limit: z.nullable(NonNegative),
  required: NonNegative,
  shortfall: NonNegative,
});
export type Feasibility = z.output<typeof Feasibility>;

export const StepEstimate = z.object({
  id: z.string(),
  skill: z.string(),
  calls: z.int(),
  credits: NonNegative,
  /** Expected wall time of the step, retries included (a job's items in waves of `parallelism`). */
  duration_ms: Ms,
  /** The same from per-call p95 durations: a pessimistic figure, not the step's own p95. */
  duration_p95_ms: Ms,
  /** That the step ends failed (some call fails after its attempts). */
  p_failure: Probability,
  /** Retries expected over all its calls. */
  expected_retries: NonNegative,
});
export type StepEstimate = z.output<typeof StepEstimate>;

const replyFields = {
  kind: z.enum(["workflow", "job"]),
  /** What the cost models price: what a run reserves or a spawn holds. */
  credits: NonNegative,
  duration_ms: Ms,
  duration_p95_ms: Ms,
  p_failure: Probability,
  expected_retries: NonNegative,
  feasibility: Feasibility,
  warnings: z.array(Note),
  risks: z.array(Note),
};

export const SimulateReplyV1 = z.object({ version: z.literal("v1"), ...replyFields, steps: z.array(StepEstimate) });
export type SimulateReplyV1 = z.output<typeof SimulateReplyV1>;

/** Where a V2 step figure came from; `prior` is V1's (history too thin or absent). */
export const StepBasis = z.object({
  credits: z.enum(["args", "history", "prior"]),
  duration: z.enum(["job_items", "skill_metrics", "prior"]),
  failure: z.enum(["skill_metrics", "prior"]),
  retry: z.enum(["failure_catalog", "prior"]),
});
export type StepBasis = z.output<typeof StepBasis>;

export const StepEstimateV2 = z.object({
  ...StepEstimate.shape,
  basis: StepBasis,
  /** Samples behind the step's duration (job items or skill calls); 0 on priors. */
  samples: z.int().check(z.minimum(0)),
  /** The figures that fell back to V1's priors (`duration`, `failure`, `credits`, `retry`). */
  fallback: z.array(z.string()),
  confidence: Probability,
});
export type StepEstimateV2 = z.output<typeof StepEstimateV2>;

export const SimulateReplyV2 = z.object({
  version: z.literal("v2"),
  ...replyFields,
  steps: z.array(StepEstimateV2),
  confidence: Probability,
});
export type SimulateReplyV2 = z.output<typeof SimulateReplyV2>;

/** One row of the skill_metrics view (its hourly rollup per tenant and skill), as read. */
export const SkillMetricsRow = z.object({
  skill_name: z.string(),
  calls: z.int().check(z.minimum(0)),
  failures: z.int().check(z.minimum(0)),
  duration_p50_ms: z.nullable(NonNegative),
  duration_p95_ms: z.nullable(NonNegative),
  /** The view's avg(units): null where the ops recorded none (before migration 0021, args never valid). */
  units_per_call: z._default(z.nullable(NonNegative), null),
});
export type SkillMetricsRow = z.output<typeof SkillMetricsRow>;

/** Done items of the tenant's recent jobs of a task (what jobs' itemDurationsOf reads). */
export const ItemDurations = z.object({
  task: z.string(),
  samples: z.int().check(z.minimum(0)),
  duration_p50_ms: z.nullable(NonNegative),
  duration_p95_ms: z.nullable(NonNegative),
});
export type ItemDurations = z.output<typeof ItemDurations>;

/** A catalog entry's share of a skill's recorded failures (Failures.frequentFailures), with its retry flag. */
export const FailureShare = z.object({
  skill: z.string(),
  catalog_entry_id: z.string(),
  rate: Probability,
  is_retryable: z.boolean(),
});
export type FailureShare = z.output<typeof FailureShare>;

/** The tenant's history V2 calibrates from, read by the caller and passed in as plain data. */
export const History = z.object({
  skill_metrics: z._default(z.array(SkillMetricsRow), []),
  job_items: z._default(z.array(ItemDurations), []),
  failures: z._default(z.array(FailureShare), []),
});
export type History = z.output<typeof History>;
export type HistoryInput = z.input<typeof History>;

export const Verdict = z.enum(["match", "minor_drift", "major_drift", "mismatch", "v2_error"]);
export type Verdict = z.output<typeof Verdict>;

/** One V1/V2 comparison: what provenance keeps, and a row of the divergence report. */
export const Comparison = z.object({
  input_hash: z.string(),
  history_hash: z.string(),
  v1_output_hash: z.string(),
  v2_output_hash: z.nullable(z.string()),
  verdict: Verdict,
  drift_score: z.nullable(Probability),
  v1_credits: NonNegative,
  v2_credits: z.nullable(NonNegative),
  /** V2 minus V1 credits. */
  cost_delta: z.nullable(z.number()),
  v1_duration_ms: Ms,
  v2_duration_ms: z.nullable(Ms),
  v2_error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  /** What the run really cost and took, when it ran (set later by the caller). */
  actual: z.optional(z.object({ credits: NonNegative, duration_ms: NonNegative })),
});
export type Comparison = z.output<typeof Comparison>;

/** Estimates against what runs really cost and took (the rows that carry `actual`). */
export const Accuracy = z.object({
  samples: z.int(),
  insufficient_data: z.boolean(),
  /** Median of |estimated - actual| credits; null on insufficient data. */
  cost_median_abs_error: z.nullable(NonNegative),
  duration_median_abs_error_ms: z.nullable(NonNegative),
});
export type Accuracy = z.output<typeof Accuracy>;

/**
 * The divergence report (M6.4) over comparison rows. Every statistic is null when there are too
 * few rows (`insufficient_data`): no data is never a pass.
 */
export const DivergenceReport = z.object({
  sample_count: z.int(),
  /** Rows where V2 answered (all but v2_error): what the deltas and KL are computed over. */
  compared_count: z.int(),
  min_samples: z.int(),
  insufficient_data: z.boolean(),
  verdicts: z.object({
    match: z.int(),
    minor_drift: z.int(),
    major_drift: z.int(),
    mismatch: z.int(),
    v2_error: z.int(),
  }),
  delta_p50: z.nullable(z.number()),
  delta_p90: z.nullable(z.number()),
  kl_divergence: z.nullable(NonNegative),
  kl_divergence_duration: z.nullable(NonNegative),
  outlier_count: z.nullable(z.int()),
  fail_ratio: z.nullable(Probability),
  matching_rate: z.nullable(Probability),
  accuracy: z.object({ v1: Accuracy, v2: Accuracy }),
});
export type DivergenceReport = z.output<typeof DivergenceReport>;
