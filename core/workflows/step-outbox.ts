/**
 * The step outbox (core/platform/outbox/ over workflow_runs): a running run wants a
 * WorkflowSteps message for its next op. A run's start and each op that moves it on send it after
 * commit; the sweeper (sweep.ts) re-sends what looks lost.
 */
import { defineOutbox } from "../platform/outbox/index.ts";
import type { StepMessage } from "./schema.ts";
import { runOutboxTable } from "./workflows.sql.ts";

/** The queue of step messages (functions/routes/workflows.ts). */
export const STEP_QUEUE = "WorkflowSteps";

export interface OutboxRun {
  id: string;
  tenant_id: string;
  next_op_index: number;
}

export const stepOutbox = defineOutbox<OutboxRun>({
  name: "workflow_steps",
  queue: STEP_QUEUE,
  ...runOutboxTable,
  message: (r): StepMessage => ({ v: 1, tenantId: r.tenant_id, runId: r.id, opIndex: r.next_op_index }),
  unsentGraceS: 60,
});
