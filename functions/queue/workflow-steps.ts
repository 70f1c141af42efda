/**
 * The WorkflowSteps worker: each record names one op of one run (`Workflows.runStep`); a stale or
 * repeated one is acknowledged, an op running elsewhere is retried by SQS.
 */
import * as Workflows from "../../core/workflows/index.ts";
import { StepMessage } from "../../core/workflows/index.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

export const handler = sqsBatchHandler({
  queue: "WorkflowSteps",
  schema: StepMessage,
  handle: (msg) => Workflows.runStep(msg),
});
