/** The workflows domain's wire shapes (zod/mini). */
import * as z from "zod/mini";
import { PageQuery } from "../platform/pagination.ts";
import { TenantRef } from "../tenancy/index.ts";
import { OpStates, ReplayStates, RunStates } from "./states.ts";

/** A workflow's name; `runs` is refused (it is a path segment of the runs' routes). */
export const WorkflowName = z.string().check(
  z.regex(/^[a-z][a-z0-9_-]{0,62}$/, "lower-case letters, digits, _ and -, starting with a letter"),
  z.refine((n) => n !== "runs", "runs is reserved"),
);
export const StepId = z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "lower-case letters, digits and _"));
export const Version = z.int().check(z.minimum(1), z.maximum(1_000_000));

/**
 * One step: the skill it calls and its args. An arg may be `{"$ref": "input.<path>"}` (the run's
 * input) or `{"$ref": "steps.<earlier step id>.result.<path>"}` (an earlier step's result).
 * `transient` ops are recorded but skipped by the replay verifier.
 */
export const WorkflowStep = z.strictObject({
  id: StepId,
  skill: z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "a skill name")),
  args: z._default(z.record(z.string(), z.unknown()), {}),
  transient: z.optional(z.boolean()),
  timeout_s: z.optional(z.int().check(z.minimum(1), z.maximum(900))),
});
export type WorkflowStep = z.output<typeof WorkflowStep>;

export const WorkflowRegister = z.strictObject({
  name: WorkflowName,
  steps: z.array(WorkflowStep).check(z.minLength(1), z.maxLength(100)),
});
export type WorkflowRegister = z.output<typeof WorkflowRegister>;

export const WorkflowRecord = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.int(),
  steps: z.array(WorkflowStep),
  steps_hash: z.string(),
  created_by: z.string(),
  created_at: z.string(),
  /** Every version of the workflow, oldest first. */
  versions: z.array(z.int()),
});
export type WorkflowRecord = z.infer<typeof WorkflowRecord>;

export const WorkflowPath = z.object({ name: WorkflowName });
export const WorkflowGetQuery = z.strictObject({
  version: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1_000_000))),
  tenant: z.optional(TenantRef),
});
export const TenantQuery = z.strictObject({ tenant: z.optional(TenantRef) });
export const WorkflowListQuery = z.strictObject({ ...PageQuery.shape, tenant: z.optional(TenantRef) });
export type WorkflowListQuery = z.output<typeof WorkflowListQuery>;

export const RunStart = z.strictObject({
  input: z._default(z.record(z.string(), z.unknown()), {}),
  idempotency_key: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  /** The definition version to run (default: the latest). */
  version: z.optional(Version),
});
export type RunStart = z.output<typeof RunStart>;

/** A run to simulate: the input it would start with, the version (default: the latest), a budget to check it against. */
export const RunSimulate = z.strictObject({
  input: z._default(z.record(z.string(), z.unknown()), {}),
  version: z.optional(Version),
  /** A cap in credits: feasibility is judged against the tighter of it and the available credits. */
  budget: z.optional(z.number().check(z.nonnegative(), z.maximum(1e12))),
});
export type RunSimulate = z.output<typeof RunSimulate>;

export const RunStatus = z.enum([RunStates.running, RunStates.completed, RunStates.failed, RunStates.cancelled]);

export const OpRecord = z.object({
  op_id: z.uuid(),
  op_index: z.int(),
  step_id: z.string(),
  op_type: z.string(),
  skill_version: z.nullable(z.string()),
  args: z.unknown(),
  args_hash: z.string(),
  result: z.unknown(),
  result_hash: z.nullable(z.string()),
  status: z.enum([OpStates.succeeded, OpStates.failed]),
  error_code: z.nullable(z.string()),
  error_message: z.nullable(z.string()),
  duration_ms: z.nullable(z.int()),
  transient: z.boolean(),
  idempotency_key: z.nullable(z.string()),
  credits: z.number(),
  /** Units the skill's cost model counted for the call (voyage_embed: inputs; per-call skills: 1). */
  units: z.nullable(z.number()),
  prev_hash: z.nullable(z.string()),
  hash: z.string(),
  created_at: z.string(),
  completed_at: z.nullable(z.string()),
});
export type OpRecord = z.infer<typeof OpRecord>;

export const RunSummary = z.object({
  total_ops: z.int(),
  completed_ops: z.int(),
  failed_ops: z.int(),
  first_op_at: z.nullable(z.string()),
  last_op_at: z.nullable(z.string()),
  total_duration_ms: z.int(),
});

/**
 * CostSim V1's estimate of a run at its start, for the steps it runs (a fork's from its fork
 * point): `credits` is what the run reserved then; `plan_hash` identifies the plan estimated
 * (the hash a simulate of the same workflow, version and input records).
 */
export const RunEstimate = z.object({
  version: z.string(),
  from_op_index: z.int(),
  credits: z.number(),
  duration_ms: z.number(),
  duration_p95_ms: z.number(),
  p_failure: z.number(),
  expected_retries: z.number(),
  plan_hash: z.string(),
});
export type RunEstimate = z.infer<typeof RunEstimate>;

export const RunRecord = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  workflow: z.string(),
  version: z.int(),
  status: RunStatus,
  input: z.unknown(),
  idempotency_key: z.nullable(z.string()),
  forked_from: z.nullable(z.uuid()),
  fork_op_index: z.nullable(z.int()),
  steps_total: z.int(),
  next_op_index: z.int(),
  attempt: z.int(),
  credits: z.object({ reserved: z.number(), charged: z.number() }),
  error: z.nullable(z.record(z.string(), z.unknown())),
  head_hash: z.nullable(z.string()),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.nullable(z.string()),
  /** V1's estimate at the start; null for runs started before estimates were kept. */
  estimate: z.nullable(RunEstimate),
  /** Once finished: the credits charged and the wall time from creation to finish. */
  actual: z.nullable(z.object({ credits: z.number(), duration_ms: z.number() })),
  summary: z.optional(RunSummary),
  ops: z.optional(z.array(OpRecord)),
  /** Present when retention removed the run's ops: the S3 object that holds them (JSONL, gzip). */
  ops_archive: z.optional(
    z.object({ run_id: z.uuid(), object_key: z.string(), sha256: z.string(), ops: z.int(), archived_at: z.string() }),
  ),
});
export type RunRecord = z.infer<typeof RunRecord>;

export const RunPath = z.object({ id: z.uuid() });
export const RunListQuery = z.strictObject({
  ...PageQuery.shape,
  workflow: z.optional(WorkflowName),
  status: z.optional(RunStatus),
  tenant: z.optional(TenantRef),
});
export type RunListQuery = z.output<typeof RunListQuery>;

export const RunCancel = z.strictObject({ reason: z.optional(z.string().check(z.maxLength(500))) });

export const ReplayStart = z.strictObject({
  mode: z._default(z.enum(["verify", "against_version"]), "verify"),
  /** against_version: the definition version to check the run's ops against. */
  version: z.optional(Version),
});
export type ReplayStart = z.output<typeof ReplayStart>;

export const ReplayRecord = z.object({
  replay_id: z.uuid(),
  workflow_run_id: z.uuid(),
  mode: z.enum(["verify", "against_version"]),
  version: z.int(),
  /** pending and running: verified through the WorkflowReplays queue, its figures null until it finishes. */
  status: z.enum([
    ReplayStates.pending,
    ReplayStates.running,
    ReplayStates.verified,
    ReplayStates.mismatch,
    ReplayStates.error,
  ]),
  ops_total: z.nullable(z.int()),
  ops_verified: z.nullable(z.int()),
  ops_failed: z.nullable(z.int()),
  ops_skipped: z.nullable(z.int()),
  first_mismatch_op_index: z.nullable(z.int()),
  /** RFC 6902 JSON Patch, expected -> actual, of the first mismatch. */
  mismatch_diff: z.nullable(z.array(z.record(z.string(), z.unknown()))),
  severity: z.nullable(z.enum(["CRITICAL", "WARNING"])),
  /** Every op that did not match: its index, what differed and the severity. */
  mismatches: z.nullable(z.array(z.record(z.string(), z.unknown()))),
  error_message: z.nullable(z.string()),
  requested_by: z.string(),
  started_at: z.string(),
  completed_at: z.nullable(z.string()),
});
export type ReplayRecord = z.infer<typeof ReplayRecord>;

export const ReplayPath = z.object({ id: z.uuid(), replay_id: z.uuid() });

export const RunFork = z.strictObject({
  from_op_index: z.int().check(z.minimum(0), z.maximum(999)),
  /** The fork's input (default: the original run's). */
  input: z.optional(z.record(z.string(), z.unknown())),
});
export type RunFork = z.output<typeof RunFork>;

/** A WorkflowSteps message: run `runId`'s op `opIndex` (a stale one is acknowledged and ignored). */
export const StepMessage = z.object({
  v: z.literal(1),
  tenantId: z.uuid(),
  runId: z.uuid(),
  opIndex: z.int().check(z.minimum(0)),
});
export type StepMessage = z.output<typeof StepMessage>;

/** A WorkflowReplays message: verify replay `replayId` (a finished one is acknowledged and ignored). */
export const ReplayMessage = z.object({
  v: z.literal(1),
  tenantId: z.uuid(),
  replayId: z.uuid(),
});
export type ReplayMessage = z.output<typeof ReplayMessage>;
