/** Settings of workflows (core/workflows). */
import { declareSettings, int } from "./declare.ts";

// biome-ignore format: one line per setting
export const workflows = declareSettings("workflows", {
  workflows: {
    stepMaxAttempts: int("WORKFLOW_STEP_MAX_ATTEMPTS", 3, "attempts of a workflow step whose skill fails retryably before the run fails", { min: 1, max: 20 }),
    stepChainS: int("WORKFLOW_STEP_CHAIN_S", 20, "a WorkflowSteps delivery runs the run's next ops itself, without a message each, until this many seconds have passed since it began (then the next op's message is sent); 0: one op per message", { min: 0, max: 60 }),
    stuckAfterS: int("WORKFLOW_STUCK_AFTER_S", 900, "a running workflow run not moved on for this long counts in aos_workflow_stuck_runs", { min: 60 }),
    opsRetentionDays: int("WORKFLOW_OPS_RETENTION_DAYS", 30, "days after a workflow run finished that its ops stay in workflow_ops; the daily WorkflowRetention cron then exports them to S3 and deletes them", { min: 1 }),
    replayMaxOps: int("WORKFLOW_REPLAY_MAX_OPS", 1000, "a run with more recorded ops than this is verified through the WorkflowReplays queue (the replay answers pending), not in the request", { min: 1 }),
  },
});
