/**
 * The item outbox (core/platform/outbox/ over job_items): a pending item of a running skill job
 * wants a JobItems message. Spawn sends every item's after commit, a retryable failure and an
 * expired lease send the item's again; the sweeper (sweep.ts) re-sends what looks lost.
 */
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { defineOutbox, type Stamped, sendStamped } from "../platform/outbox/index.ts";
import { lockJobClaims, wakeParked as wakeParkedSql } from "./claim.sql.ts";
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
 * Items of job `jobId` finished, so its parallelism has room again: send the messages of up to `n`
 * of its items that a claim held back (parked, claim.sql.ts claimByIds). Under the job's claim
 * lock (lockJobClaims), so a claim that parks an item either commits before the wake looks (and
 * the item is woken) or counts after this worker's items left (and has room for it): no parked
 * item waits for the sweeper while the job's items run. Never throws: what is left is the outbox
 * sweeper's (a parked item reads as never sent). Returns how many were sent.
 */
export async function wakeParked(jobId: string, n: number): Promise<number> {
  if (n <= 0) return 0;
  try {
    const stamp = clock().now();
    const rows = await withTx(async () => {
      await query(lockJobClaims, [jobId]);
      return (await query<Stamped<OutboxItem>>(wakeParkedSql, [jobId, n, stamp])).rows;
    });
    return await sendStamped(itemOutbox, rows, stamp);
  } catch (e) {
    log.warn("could not wake job items held back by parallelism; the sweeper sends them", { err: e });
    return 0;
  }
}
