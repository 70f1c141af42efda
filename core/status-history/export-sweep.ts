/**
 * The exports' sweeper (the StatusHistoryExportSweep cron):
 *   1. ready exports past their TTL: their object and manifest are deleted, then they are marked
 *      expired (downloads answer 410); the bucket's lifecycle rule is only the backstop;
 *   2. exports whose queue message was lost (pending and untouched for longer than the queue's
 *      visibility timeout, or running with a lease that ended): their message is sent again.
 */
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { sendMessages } from "../platform/queue.ts";
import { deleteObjects } from "../platform/storage.ts";
import { manifestKeyOf } from "./export-stream.ts";
import { sql } from "./exports.sql.ts";
import { EXPORT_QUEUE } from "./exports.ts";
import { record } from "./record.ts";
import type { ExportMessage } from "./schema.ts";

const BATCH = 500;
/** Batches per run at most, so one run stays well inside the cron's timeout. */
const MAX_BATCHES = 20;
/** Longer than the queue's 960 s visibility timeout: a message in flight is not lost yet. */
const PENDING_STALE_MS = 20 * 60_000;
/** Grace after a lease ended before the export is re-driven (SQS usually redelivers by then). */
const LEASE_GRACE_MS = 60_000;

export interface SweepResult {
  expired: number;
  /** Expired exports whose objects could not be deleted this run (tried again next run). */
  deleteFailed: number;
  redriven: number;
}

export async function sweepExports(): Promise<SweepResult> {
  const result: SweepResult = { expired: 0, deleteFailed: 0, redriven: 0 };
  for (let i = 0; i < MAX_BATCHES; i++) {
    const { expired, failed, full } = await expireBatch();
    result.expired += expired;
    result.deleteFailed += failed;
    if (!full || expired === 0) break;
  }
  for (let i = 0; i < MAX_BATCHES; i++) {
    const { sent, full } = await redriveBatch();
    result.redriven += sent;
    if (!full || sent === 0) break;
  }
  return result;
}

async function expireBatch(): Promise<{ expired: number; failed: number; full: boolean }> {
  const now = clock().now();
  const { rows } = await query<{ id: string; tenant_id: string; object_key: string }>(sql.dueForExpiry, [now, BATCH]);
  if (rows.length === 0) return { expired: 0, failed: 0, full: false };
  const { failed } = await deleteObjects(rows.flatMap((r) => [r.object_key, manifestKeyOf(r.object_key)]));
  const notDeleted = new Set(failed.map((f) => f.key));
  if (failed.length) log.warn("could not delete some expired exports' objects", { failed: failed.slice(0, 10) });
  const deleted = rows.filter((r) => !notDeleted.has(r.object_key) && !notDeleted.has(manifestKeyOf(r.object_key)));
  const expired = await withTx(async () => {
    const { rows: marked } = await query<{ id: string; tenant_id: string }>(sql.markExpired, [
      deleted.map((r) => r.id),
      now,
    ]);
    await record(
      marked.map((r) => ({
        tenant_id: r.tenant_id,
        entity_type: "export",
        entity_id: r.id,
        old_status: "ready",
        new_status: "expired",
        reason: "past its TTL; objects deleted",
      })),
    );
    return marked.length;
  });
  return { expired, failed: rows.length - deleted.length, full: rows.length === BATCH };
}

async function redriveBatch(): Promise<{ sent: number; full: boolean }> {
  const now = clock().now();
  const staleBefore = new Date(now.getTime() - PENDING_STALE_MS);
  const leaseEndedBefore = new Date(now.getTime() - LEASE_GRACE_MS);
  const { rows } = await query<{ id: string; tenant_id: string }>(sql.stale, [staleBefore, leaseEndedBefore, BATCH]);
  if (rows.length === 0) return { sent: 0, full: false };
  const bodies: ExportMessage[] = rows.map((r) => ({ exportId: r.id, tenantId: r.tenant_id }));
  const { failed } = await sendMessages(EXPORT_QUEUE, bodies);
  const notSent = new Set(failed.map((f) => f.index));
  const sent = rows.filter((_, i) => !notSent.has(i));
  if (failed.length) log.warn("could not re-drive some exports", { failed: failed.slice(0, 10) });
  // Sent first, touched after: a crash in between only means one more (harmless) message next run.
  await query(sql.touch, [sent.map((r) => r.id), now]);
  log.info("re-drove exports whose message looked lost", { count: sent.length });
  return { sent: sent.length, full: rows.length === BATCH };
}
