/**
 * The item outbox (core/platform/outbox/ over job_items): a pending item of a running skill job
 * wants a JobItems message. Spawn sends every item's after commit, a retryable failure and an
 * expired lease send the item's again; the sweeper (sweep.ts) re-sends what looks lost.
 */
import { defineOutbox } from "../platform/outbox/index.ts";
import type { ItemMessage } from "./schema.ts";
import { itemOutboxTable } from "./work.sql.ts";

/** The queue of item messages (functions/routes.ts). */
export const ITEM_QUEUE = "JobItems";

/** What an item's message is built from. */
export interface OutboxItem {
  id: string;
  job_id: string;
  tenant_id: string;
}

export const itemOutbox = defineOutbox<OutboxItem>({
  name: "job_items",
  queue: ITEM_QUEUE,
  ...itemOutboxTable,
  message: (i): ItemMessage => ({ v: 1, tenantId: i.tenant_id, jobId: i.job_id, itemId: i.id }),
  // A job's fan-out may still be under way this long after its spawn.
  unsentGraceS: 60,
  // Items per statement and send; batches per run (so a run stays well inside the cron's 60 s).
  batch: 200,
  maxBatches: 10,
});
