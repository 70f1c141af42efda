/**
 * The WorkflowReplays worker: each record names one queued replay (`Workflows.runReplay`, a run
 * with more ops than WORKFLOW_REPLAY_MAX_OPS); a finished one is acknowledged, one another worker
 * holds is retried by SQS.
 */
import * as Workflows from "../../core/workflows/index.ts";
import { ReplayMessage } from "../../core/workflows/index.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

export const handler = sqsBatchHandler({
  queue: "WorkflowReplays",
  schema: ReplayMessage,
  handle: (msg) => Workflows.runReplay(msg),
});
