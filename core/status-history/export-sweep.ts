/**
 * The exports' sweeper (the StatusHistoryExportSweep cron):
 *   1. ready exports past their TTL: their object and manifest are deleted, then they are marked
 *      expired (downloads answer 410); the bucket's lifecycle rule is only the backstop;
 *   2. exports whose queue message was lost (pending and sent longer ago than the queue's
 *      visibility timeout, or running with a lease that ended): their message is sent again, by
 *      the export outbox's sweeper (export-outbox.ts, core/platform/outbox/).
 */
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { record } from "../platform/history/index.ts";
import { log } from "../platform/logger.ts";
import { sweepOutbox } from "../platform/outbox/index.ts";
import { deleteObjects } from "../platform/storage.ts";
import { exportOutbox } from "./export-outbox.ts";
import { ExportStates } from "./export-states.ts";
import { manifestKeyOf } from "./export-stream.ts";
import * as sql from "./exports.sql.ts";

const BATCH = 500;
/** Batches per run at most, so one run stays well inside the cron's timeout. */
const MAX_BATCHES = 20;

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
  result.redriven = (await sweepOutbox(exportOutbox)).resent;
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
        old_status: ExportStates.ready,
        new_status: ExportStates.expired,
        reason: "past its TTL; objects deleted",
      })),
    );
    return marked.length;
  });
  return { expired, failed: rows.length - deleted.length, full: rows.length === BATCH };
}
