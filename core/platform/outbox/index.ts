/**
 * The transactional outbox, once for every domain: write the row in the transaction, send its
 * queue message after commit and stamp `enqueued_at` on the rows SQS accepted; a sweeper re-sends
 * what looks lost. A message is only a wake-up call for a row that already exists, and consumers
 * are idempotent, so a send may be repeated but never lost:
 *   - the send fails after commit, or the process dies between commit and send: the row stays
 *     unstamped and the sweeper sends it once `unsentGraceS` passed;
 *   - the process dies between send and stamp: the sweeper sends it again (a harmless duplicate);
 *   - the message is accepted but lost downstream: the row is sent again `resendAfterS` after its
 *     stamp, or at once when it needs a new one (`needsMessageSince`: a lease that ended).
 * The sweeper stamps the rows it takes in the statement that locks them (skipping locked rows),
 * then sends, and puts the old stamp back on what SQS refused: two sweepers never send a row
 * twice, and a sweeper that dies mid-send leaves the row to the next `resendAfterS`.
 *
 * An outbox adds no table: it is declared over the domain's table (outbox.sql.ts), so a job's
 * spawn writes one row per item, as before (decision 0010). Metrics in metrics.ts.
 *
 * Metrics: `aos_outbox_resent_total{outbox}`, `aos_outbox_send_failures_total{outbox,via}`
 * (`via` commit or sweep), `aos_outbox_oldest_unsent_age_seconds{outbox}` (set by each sweep).
 *
 * @example
 *   const exportsOutbox = defineOutbox({ name: "status_history_exports", queue: "StatusHistoryExports",
 *     table: "status_history_exports", columns: "t.id, t.tenant_id", waiting: "t.status = 'pending'",
 *     createdAt: "t.created_at", resendAfterS: 1200,
 *     message: (r) => ({ v: 1, tenantId: r.tenant_id, exportId: r.id }) });
 *   await withTx(async () => { ...insert...; enqueueAfterCommit(exportsOutbox, [row]); });
 *   await sweepOutbox(exportsOutbox); // from the domain's cron
 */
import { clock } from "../clock.ts";
import { afterCommit, query } from "../db/index.ts";
import { log } from "../logger.ts";
import { sendMessages } from "../queue.ts";
import { allowOutbox, outboxMetrics as metrics } from "./metrics.ts";
import { type OutboxStatements, type OutboxTable, outboxStatements } from "./outbox.sql.ts";

export interface OutboxSpec<Row extends { id: string }> extends OutboxTable {
  /** The `outbox` label of the metrics, and the logs' name: `job_items`. */
  name: string;
  /** The queue, as named in functions/routes.ts. */
  queue: string;
  /** A row's message: camelCase, with `tenantId` and `v` (core/platform/queue-message.ts). */
  message: (row: Row) => unknown;
  /** A row never sent is left to its after-commit send this long (default 60 s). */
  unsentGraceS?: number;
  /** Rows per sweeper statement and send (default 200). */
  batch?: number;
  /** Batches per sweep at most, so one run stays well inside its cron's timeout (default 10). */
  maxBatches?: number;
}

export interface Outbox<Row extends { id: string }> {
  readonly spec: OutboxSpec<Row>;
  readonly sql: OutboxStatements;
}

export interface SweepOutboxResult {
  /** Messages the sweeper sent again and SQS accepted. */
  resent: number;
  /** Messages the sweeper could not send (tried again next run). */
  failed: number;
}

/** Declare an outbox over a domain's table; its statements are built once. */
export function defineOutbox<Row extends { id: string }>(spec: OutboxSpec<Row>): Outbox<Row> {
  allowOutbox(spec.name);
  return { spec, sql: outboxStatements(spec) };
}

/**
 * Send the rows' messages; the indexes SQS did not accept. Never throws: a failure is logged and
 * metered, and the sweeper sends what is left.
 */
async function send<Row extends { id: string }>(
  outbox: Outbox<Row>,
  rows: readonly Row[],
  path: "commit" | "sweep",
  delayS?: number,
): Promise<Set<number>> {
  const { name, queue } = outbox.spec;
  let failed: Set<number>;
  try {
    const r = await sendMessages(queue, rows.map(outbox.spec.message), { delayS });
    failed = new Set(r.failed.map((f) => f.index));
    if (failed.size)
      log.warn("outbox messages not sent; the sweeper sends them", { outbox: name, path, first: r.failed[0] });
  } catch (e) {
    failed = new Set(rows.map((_, i) => i));
    log.error("outbox send failed; the sweeper sends its messages", { outbox: name, path, count: rows.length, err: e });
  }
  if (failed.size) metrics.sendFailures.inc({ outbox: name, via: path }, failed.size);
  return failed;
}

export interface EnqueueOptions {
  /** SQS holds the messages back this many seconds (0 to 900, SQS's DelaySeconds). */
  delayS?: number;
}

/**
 * Send the rows' messages now and stamp the rows SQS accepted. Never throws (the rows are
 * committed; the sweeper sends what is not stamped). Returns how many were sent.
 */
export async function enqueueNow<Row extends { id: string }>(
  outbox: Outbox<Row>,
  rows: readonly Row[],
  opts: EnqueueOptions = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const failed = await send(outbox, rows, "commit", opts.delayS);
  const sent = rows.filter((_, i) => !failed.has(i)).map((r) => r.id);
  if (sent.length === 0) return 0;
  // Sent first, stamped after: a crash in between only means one more (harmless) message later.
  try {
    await query(outbox.sql.markEnqueued, [clock().now(), sent]);
  } catch (e) {
    log.error("outbox rows sent but not stamped; the sweeper sends them again", { outbox: outbox.spec.name, err: e });
  }
  return sent.length;
}

/** Once the ambient transaction commits (at once outside one): `enqueueNow`. */
export function enqueueAfterCommit<Row extends { id: string }>(
  outbox: Outbox<Row>,
  rows: readonly Row[],
  opts: EnqueueOptions = {},
): void {
  if (rows.length === 0) return;
  afterCommit(() => enqueueNow(outbox, rows, opts));
}

/** A row its statement stamped before the send: its id, and the stamp it had before (null: never sent). */
export type Stamped<Row> = Row & { outbox_id: string; outbox_prev: Date | null };

/**
 * Send the messages of rows the caller's statement already stamped with `stamp` (as the sweeper's
 * claimDue does: stamp in the statement that locks them, so no one else sends them too), and put
 * the previous stamp back on those SQS refused. Never throws on a refused send. Returns how many
 * were sent.
 *
 * @example
 *   const stamp = clock().now();
 *   const { rows } = await query<Stamped<OutboxItem>>(wakeSql, [jobId, n, stamp]);
 *   await sendStamped(itemOutbox, rows, stamp);
 */
export async function sendStamped<Row extends { id: string }>(
  outbox: Outbox<Row>,
  rows: readonly Stamped<Row>[],
  stamp: Date,
  via: "commit" | "sweep" = "commit",
): Promise<number> {
  if (rows.length === 0) return 0;
  const failed = await send(outbox, rows, via);
  if (failed.size) {
    const back = rows.filter((_, n) => failed.has(n));
    try {
      await query(outbox.sql.unclaim, [stamp, back.map((r) => r.outbox_id), back.map((r) => r.outbox_prev)]);
    } catch (e) {
      // Left stamped: the sweeper sends them once resendAfterS has passed.
      log.error("outbox rows not sent and not unstamped", { outbox: outbox.spec.name, count: back.length, err: e });
    }
  }
  return rows.length - failed.size;
}

/** A sweep's send of the rows it stamped with `stamp`; adds to `result`; returns how many were sent. */
async function resend<Row extends { id: string }>(
  outbox: Outbox<Row>,
  rows: Stamped<Row>[],
  stamp: Date,
  result: SweepOutboxResult,
): Promise<number> {
  const sent = await sendStamped(outbox, rows, stamp, "sweep");
  result.resent += sent;
  result.failed += rows.length - sent;
  if (sent) metrics.resent.inc({ outbox: outbox.spec.name }, sent);
  return sent;
}

/**
 * Send the message of EVERY waiting row now, however recently it was sent: for a queue known to
 * have lost all its messages, such as the local runtime's in-memory queue after a restart (the
 * sweeper would otherwise wait out `resendAfterS` for rows sent before it). The rows are stamped
 * as the sweeper stamps them (skipping rows others hold), and those SQS refused are unstamped.
 * Runs as the system. Returns what the sweeper returns.
 *
 * @example
 *   const { resent } = await redriveOutbox(itemOutbox);
 */
export async function redriveOutbox<Row extends { id: string }>(outbox: Outbox<Row>): Promise<SweepOutboxResult> {
  const { name } = outbox.spec;
  const batch = outbox.spec.batch ?? 200;
  const result: SweepOutboxResult = { resent: 0, failed: 0 };
  // One stamp for the whole run: a row it stamped is never taken twice, and a row sent after it
  // began (a new spawn's after-commit send) is not taken at all.
  const stamp = clock().now();
  for (;;) {
    const { rows } = await query<Stamped<Row>>(outbox.sql.claimAll, [stamp, batch]);
    if (rows.length === 0) break;
    const sent = await resend(outbox, rows, stamp, result);
    if (rows.length < batch || sent === 0) break;
  }
  if (result.resent || result.failed) log.info("outbox messages re-driven", { outbox: name, ...result });
  return result;
}

/**
 * One run of the outbox's sweeper: rows whose message looks lost are stamped, sent and, when SQS
 * refused, unstamped again; then the age of the oldest row never sent is set. Runs as the system.
 *
 * @example
 *   const { resent } = await sweepOutbox(itemOutbox);
 */
export async function sweepOutbox<Row extends { id: string }>(outbox: Outbox<Row>): Promise<SweepOutboxResult> {
  const { name } = outbox.spec;
  const batch = outbox.spec.batch ?? 200;
  const grace = outbox.spec.unsentGraceS ?? 60;
  const result: SweepOutboxResult = { resent: 0, failed: 0 };
  for (let i = 0; i < (outbox.spec.maxBatches ?? 10); i++) {
    const stamp = clock().now();
    const { rows } = await query<Stamped<Row>>(outbox.sql.claimDue, [stamp, grace, batch]);
    if (rows.length === 0) break;
    const sent = await resend(outbox, rows, stamp, result);
    if (rows.length < batch || sent === 0) break;
  }
  if (result.resent || result.failed)
    log.info("outbox messages that looked lost were re-sent", { outbox: name, ...result });
  const { rows } = await query<{ age_s: number | null }>(outbox.sql.oldestUnsent, [clock().now()]);
  metrics.oldestUnsent.set({ outbox: name }, Math.max(0, rows[0]?.age_s ?? 0));
  return result;
}
