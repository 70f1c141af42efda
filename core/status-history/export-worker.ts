/**
 * The export worker (the StatusHistoryExports queue's consumer): claim the export, stream it to
 * S3 (export-stream.ts), mark it ready. The row is the truth and the message only a wake-up
 * call, so any delivery can be repeated:
 *
 *   - a delivery for an export already ready, failed or expired does nothing (no second object);
 *   - one for an export another worker holds a live lease on answers `retry`, so SQS delivers it
 *     again after the visibility timeout;
 *   - one for an export that does not exist (of that tenant) answers `permanent`;
 *   - a failed attempt puts the export back to pending and answers `retry` (SQS redelivers),
 *     until EXPORT_MAX_ATTEMPTS, when the export is failed and the message acknowledged.
 * The outcome is a value (core/platform/queue-outcome.ts); only a failure of the bookkeeping
 * itself (the database down) throws, and the queue factory retries the record.
 *
 * Each attempt is numbered (`attempts`); a worker only finishes the attempt it claimed, so one
 * whose lease ran out and was taken over changes nothing.
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, coerceError, query, withTx } from "../platform/db/index.ts";
import { record } from "../platform/history/index.ts";
import { log } from "../platform/logger.ts";
import { done, permanent, type QueueOutcome, retry } from "../platform/queue-outcome.ts";
import { deleteObjects } from "../platform/storage.ts";
import { ExportBusyError, ExportNotFoundError } from "./errors.ts";
import { ExportStates } from "./export-states.ts";
import { manifestKeyOf, type StreamedExport, streamExport } from "./export-stream.ts";
import type { ExportRow } from "./exports.sql.ts";
import * as sql from "./exports.sql.ts";
import { statusHistoryMetrics } from "./metrics.ts";
import type { ExportMessageIn } from "./schema.ts";

/** An attempt owns its export this long: the queue's visibility timeout (functions/routes.ts). */
export const LEASE_S = 960;

const history = (row: ExportRow, from: string | null, to: string, more: { reason?: string; metadata?: object } = {}) =>
  record({
    tenant_id: row.tenant_id,
    entity_type: "export",
    entity_id: row.id,
    old_status: from,
    new_status: to,
    reason: more.reason,
    metadata: { attempt: row.attempts, ...more.metadata },
  });

/** A short description of a failure for `last_error` and the history: codes and messages, no URLs. */
function describeFailure(e: unknown): string {
  const err = coerceError(e);
  const cause = err.cause instanceof Error && err.kind === "internal" ? ` (${err.cause.message})` : "";
  const text = `${err.code}: ${err.message}${cause}`.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>");
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/**
 * Run one delivery of an export's message; the record's outcome.
 *
 * @example
 *   const outcome = await StatusHistory.runExport({ v: 1, tenantId, exportId });
 */
export async function runExport(msg: ExportMessageIn): Promise<QueueOutcome> {
  const claimed = await claim(msg);
  if (!("row" in claimed)) return claimed.outcome;
  const { row } = claimed;
  let out: StreamedExport;
  try {
    out = await streamExport(row);
  } catch (e) {
    return failAttempt(row, e);
  }
  try {
    await finish(row, out);
  } catch (e) {
    return failAttempt(row, e);
  }
  return done();
}

/** Take the export for one attempt (`row`), or the record's outcome: nothing to do, not yet, never. */
async function claim(msg: ExportMessageIn): Promise<{ row: ExportRow } | { outcome: QueueOutcome }> {
  const now = clock().now();
  const leaseEnd = new Date(now.getTime() + LEASE_S * 1000);
  const max = config().exports.maxAttempts;
  return withTx(async () => {
    const { rows } = await query<ExportRow & { previous_status: string }>(sql.claim, [
      msg.exportId,
      msg.tenantId,
      now,
      leaseEnd,
      max,
    ]);
    const claimed = rows[0];
    if (claimed) {
      const { previous_status: from, ...row } = claimed;
      const reason =
        from === ExportStates.running ? `the lease of attempt ${row.attempts - 1} ended; taken over` : undefined;
      await history(row, from, ExportStates.running, { reason });
      return { row };
    }
    const { rows: found } = await query<ExportRow>(sql.get, [msg.exportId, msg.tenantId]);
    const row = found[0];
    // Permanent: the queue factory records it in queue_failures and acknowledges it.
    if (!row) {
      const e = new ExportNotFoundError(msg.exportId);
      return { outcome: permanent(e.code, e.message) };
    }
    if (
      row.status === ExportStates.ready ||
      row.status === ExportStates.failed ||
      row.status === ExportStates.expired
    ) {
      log.info("export already finished; duplicate delivery ignored", { exportId: row.id, status: row.status });
      return { outcome: done() };
    }
    if (row.status === ExportStates.running && row.lease_until !== null && row.lease_until < now) {
      // The last attempt's worker died and no attempt is left.
      const error = `attempt ${row.attempts} did not finish before its lease ended`;
      const { rows: failed } = await query<ExportRow>(sql.failAbandoned, [row.id, row.tenant_id, now, error]);
      if (failed[0]) {
        await history(failed[0], ExportStates.running, ExportStates.failed, { reason: error });
        afterCommit(() => statusHistoryMetrics.exports.inc({ outcome: "failed" }));
      }
      return { outcome: done() };
    }
    return { outcome: retry(new ExportBusyError(row.id, row.status, row.lease_until).message) };
  });
}

async function finish(row: ExportRow, out: StreamedExport): Promise<void> {
  const now = clock().now();
  const expiresAt = new Date(now.getTime() + config().exports.ttlH * 3_600_000);
  await withTx(async () => {
    const { rows } = await query<ExportRow>(sql.markReady, [
      row.id,
      row.tenant_id,
      row.attempts,
      out.rowCount,
      out.bytes,
      out.sha256,
      now,
      expiresAt,
    ]);
    if (!rows[0]) {
      // Another attempt took over after this one's lease ended; it writes the same key.
      log.warn("export attempt lost its lease; its result is not recorded", {
        exportId: row.id,
        attempt: row.attempts,
      });
      return;
    }
    await history(row, ExportStates.running, ExportStates.ready, {
      metadata: { row_count: out.rowCount, bytes: out.bytes },
    });
    afterCommit(() => statusHistoryMetrics.exports.inc({ outcome: "ready" }));
  });
}

/**
 * Record a failed attempt: back to pending and `retry` (SQS redelivers the message), or failed
 * once EXPORT_MAX_ATTEMPTS attempts failed, and `done` (the message is acknowledged).
 */
async function failAttempt(row: ExportRow, e: unknown): Promise<QueueOutcome> {
  const error = describeFailure(e);
  const last = row.attempts >= config().exports.maxAttempts;
  const to = last ? ExportStates.failed : ExportStates.pending;
  log.warn("export attempt failed", { exportId: row.id, attempt: row.attempts, final: last, err: e });
  const marked = await withTx(async () => {
    const { rows } = await query<ExportRow>(sql.markAttemptFailed, [
      row.id,
      row.tenant_id,
      row.attempts,
      to,
      error,
      clock().now(),
    ]);
    if (rows[0]) await history(row, ExportStates.running, to, { reason: `attempt ${row.attempts} failed: ${error}` });
    return rows[0] !== undefined;
  });
  // Lost the lease meanwhile: the attempt that took over owns the outcome.
  if (!marked) return done();
  statusHistoryMetrics.exports.inc({ outcome: last ? "failed" : "retried" });
  if (last) {
    // Nothing of a failed export stays downloadable (an upload that completed before a later step failed).
    await deleteObjects([row.object_key, manifestKeyOf(row.object_key)]).catch((err: unknown) =>
      log.warn("could not delete a failed export's objects; the bucket lifecycle rule will", { err }),
    );
    return done();
  }
  return retry(`export ${row.id} attempt ${row.attempts} failed: ${error}`);
}
