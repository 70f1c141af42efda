/**
 * The states of a workflow run, of an op and of a replay, named once for the code and for the SQL
 * (written in as literals with `sqlLiterals`, so the partial index on running runs still matches).
 */
export const RunStates = {
  running: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
} as const;
export type RunState = (typeof RunStates)[keyof typeof RunStates];

export const OpStates = { succeeded: "succeeded", failed: "failed" } as const;
export type OpState = (typeof OpStates)[keyof typeof OpStates];

/**
 * `pending`: queued for the WorkflowReplays worker (a run with more ops than
 * WORKFLOW_REPLAY_MAX_OPS); `running`: a worker holds it; `verified`: every op checked matched;
 * `mismatch`: one did not (first_mismatch_op_index); `error`: it could not be verified (error_message).
 */
export const ReplayStates = {
  pending: "pending",
  running: "running",
  verified: "verified",
  mismatch: "mismatch",
  error: "error",
} as const;
export type ReplayState = (typeof ReplayStates)[keyof typeof ReplayStates];
