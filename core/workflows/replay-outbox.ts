/**
 * The replay outbox (core/platform/outbox/ over replay_runs): a queued replay wants a
 * WorkflowReplays message. The replay request sends it after commit; the WorkflowSweep cron
 * re-sends what looks lost (sweep.ts).
 */
import { defineOutbox } from "../platform/outbox/index.ts";
import { replayOutboxTable } from "./replays.sql.ts";
import type { ReplayMessage } from "./schema.ts";

/** The queue of replay messages (functions/routes/workflows.ts). */
export const REPLAY_QUEUE = "WorkflowReplays";

export interface OutboxReplay {
  id: string;
  tenant_id: string;
}

export const replayOutbox = defineOutbox<OutboxReplay>({
  name: "workflow_replays",
  queue: REPLAY_QUEUE,
  ...replayOutboxTable,
  message: (r): ReplayMessage => ({ v: 1, tenantId: r.tenant_id, replayId: r.id }),
  unsentGraceS: 60,
});
