/**
 * The SQL of an outbox (outbox.ts), built once from its table's declaration. The rows are the
 * domain's own (job_items, status_history_exports): an outbox adds no table and no row, only the
 * meaning of one column, `enqueued_at`: when SQS last accepted a message for the row (null: never).
 *
 * Every statement's `$1` is now, decided by `clock()` in JS; the declaration's SQL fragments may
 * use it (`t.lease_until < CAST($1 AS timestamptz) - interval '60 seconds'`). The table is
 * aliased `t`; `join` may add tables the fragments name.
 */

export interface OutboxTable {
  /** The table of the rows: `job_items`. */
  table: string;
  /** Its primary key, a uuid (default `id`). */
  id?: string;
  /** The column of the last accepted send (default `enqueued_at`). */
  enqueuedAt?: string;
  /** Tables the fragments below name: `join jobs j on j.id = t.job_id`. */
  join?: string;
  /** What a message is built from (SQL select list): `t.id, t.job_id, t.tenant_id`. */
  columns: string;
  /** A row that still wants its message (SQL condition): `t.status = 'pending' and ...`. */
  waiting: string;
  /** When the row was written (SQL): a row never sent is left to its after-commit send this long. */
  createdAt: string;
  /** Seconds after which an accepted message is presumed lost: a number, or SQL per row. */
  resendAfterS: number | string;
  /** SQL instant (or null) after which the row needs a new message however recent the last send. */
  needsMessageSince?: string;
}

export interface OutboxStatements {
  /** `$1` now, `$2` the ids SQS accepted. */
  markEnqueued: string;
  /** `$1` now, `$2` the sent-before grace (s), `$3` limit: due rows, stamped `$1`, with `outbox_prev`. */
  claimDue: string;
  /**
   * `$1` the redrive's stamp, `$2` limit: every waiting row not yet stamped by this redrive (its
   * stamp older than `$1`, or none), stamped `$1`, with `outbox_prev`. For a queue that lost
   * every message (see redriveOutbox).
   */
  claimAll: string;
  /** `$1` the stamp of claimDue, `$2` ids, `$3` their previous stamps: a send that failed is undone. */
  unclaim: string;
  /** `$1` now: age in seconds of the oldest waiting row never sent (null: none). */
  oldestUnsent: string;
}

export function outboxStatements(d: OutboxTable): OutboxStatements {
  const id = `t.${d.id ?? "id"}`;
  const enq = d.enqueuedAt ?? "enqueued_at";
  const from = `${d.table} t ${d.join ?? ""}`;
  const now = "CAST($1 AS timestamptz)";
  const resendAfter = typeof d.resendAfterS === "number" ? String(d.resendAfterS) : d.resendAfterS;
  const due = [
    `(t.${enq} is null and ${d.createdAt} < ${now} - make_interval(secs => CAST($2 AS integer)))`,
    `t.${enq} < ${now} - make_interval(secs => ${resendAfter})`,
    ...(d.needsMessageSince ? [`t.${enq} <= ${d.needsMessageSince}`] : []),
  ].join("\n        or ");
  return {
    markEnqueued: `update ${d.table} t set ${enq} = $1 where ${id} = any(CAST($2 AS uuid[]))`,
    // Stamped before the send, in one statement whose lock skips rows another sweeper (or a
    // worker) holds: two sweepers never send the same row twice.
    claimDue: `with due as (
      select ${id} as outbox_id, t.${enq} as outbox_prev, ${d.columns}
      from ${from}
      where (${d.waiting})
        and (${due})
      limit $3
      for update of t skip locked
    )
    update ${d.table} t set ${enq} = $1 from due where ${id} = due.outbox_id
    returning due.*`,
    claimAll: `with due as (
      select ${id} as outbox_id, t.${enq} as outbox_prev, ${d.columns}
      from ${from}
      where (${d.waiting})
        and (t.${enq} is null or t.${enq} < ${now})
      limit $2
      for update of t skip locked
    )
    update ${d.table} t set ${enq} = $1 from due where ${id} = due.outbox_id
    returning due.*`,
    unclaim: `update ${d.table} t set ${enq} = p.prev
    from unnest(CAST($2 AS uuid[]), CAST($3 AS timestamptz[])) as p(id, prev)
    where ${id} = p.id and t.${enq} = $1`,
    oldestUnsent: `select CAST(extract(epoch from (${now} - min(${d.createdAt}))) AS float8) as age_s
    from ${from}
    where (${d.waiting}) and t.${enq} is null`,
  };
}
