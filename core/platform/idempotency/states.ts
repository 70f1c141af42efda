/** The states of an idempotency record (skill_executions), named once for the code and for the SQL. */
export const ExecutionStates = { running: "running", succeeded: "succeeded", failed: "failed" } as const;
export type ExecutionState = (typeof ExecutionStates)[keyof typeof ExecutionStates];
