/**
 * The item outbox (core/platform/outbox/ over job_items): a pending item of a running skill job
 * wants a JobItems message. Spawn sends every item's after commit, a retryable failure and an
 * expired lease send the item's again; the sweeper (sweep.ts) re-sends what looks lost.
 */
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { defineOutbox, enqueueNow } from "../platform/outbox/index.ts";
import { parkedItems } from "./claim.sql.ts";
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

/**
 * Items of these jobs finished, so their parallelism has room again: send the messages of up to
 * `n` of their items that a claim held back (parked, claim.sql.ts claimByIds). Never throws: what
 * is left is the outbox sweeper's (a parked item reads as never sent). Returns how many were sent.
 */
export async function wakeParked(jobIds: readonly string[], n: number): Promise<number> {
  if (n <= 0 || jobIds.length === 0) return 0;
  try {
    const { rows } = await query<OutboxItem>(parkedItems, [jobIds, n]);
    return await enqueueNow(itemOutbox, rows);
  } catch (e) {
    log.warn("could not wake job items held back by parallelism; the sweeper sends them", { err: e });
    return 0;
  }
}
