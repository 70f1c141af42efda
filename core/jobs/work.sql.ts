/**
 * The SQL of working on items: heartbeat, complete, fail and the sweeper's statements (claims
 * are in claim.sql.ts).
 *
 * Every instant is a parameter decided by `clock()` in JS, never Postgres' `now()`, so leases and
 * the sweeper follow the clock a test sets. Item changes never touch the `jobs` row: a busy job
 * would queue every worker on it. Rows come back in the API's shape (ItemRecord's columns).
 */

import { chargeRowsFrom } from "../credits/index.ts";
import { isoUtc, prepared } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { actorSetting } from "../platform/history/history.sql.ts";
import type { OutboxTable } from "../platform/outbox/outbox.sql.ts";
import { ItemStates, JobStates } from "./states.ts";

const J = sqlLiterals(JobStates);
const I = sqlLiterals(ItemStates);

/** An ItemRecord in wire shape (alias `i`). */
export const itemColumns = `i.id, i.job_id, i.idx, i.input, i.status, i.attempt, i.claimed_by,
  ${isoUtc("i.lease_until")} as lease_until, i.result, i.error, ${isoUtc("i.claimed_at")} as claimed_at,
  ${isoUtc("i.finished_at")} as finished_at, i.duration_ms`;

/** Milliseconds from the claim to `$now` (the parameter named), never negative. */
const durationMs = (now: string) =>
  `CAST(greatest(0, round(extract(epoch from (CAST(${now} AS timestamptz) - i.claimed_at)) * 1000)) AS integer)`;

/**
 * The worker holds the item: its claim, not expired. `$1` item, `$2` tenant, `$3` worker, `$4` now.
 *
 * No `status = 'claimed'` here, on purpose: the table's CHECK makes it implied (only a claimed
 * item has both claimed_by and lease_until), and written out it let the generic plan find the
 * item through the partial index of every tenant's claimed items (statistics taken while few
 * were claimed make that index look cheapest) instead of by primary key.
 */
const holds = `i.id = $1 and i.tenant_id = $2 and i.claimed_by = $3 and i.lease_until > $4`;

/** Extend the lease the worker holds by `$5` seconds, or by the job's item_timeout_s. */
export const heartbeat = /* @__PURE__ */ statement(
  () => `update job_items i
      set lease_until = CAST($4 AS timestamptz) + make_interval(secs => coalesce(CAST($5 AS integer), j.item_timeout_s))
    from jobs j
    where ${holds} and j.id = i.job_id
    returning ${itemColumns}`,
);

/** The charges of the items `d` finished (each at its own price, fixed at spawn), for chargeRowsFrom. */
const itemCharges = (actor: string) =>
  `(select tenant_id, job_id, id as item_id, CAST(id AS text) as ref, credits as amount, CAST(${actor} AS text) as actor,
      CAST(null AS text) as reason from d)`;

/**
 * Done, with its result, and charged, in ONE statement (atomic without begin/commit round
 * trips): the item's update and its `charge:<item>` ledger row at the item's price. `claimed_by` stays (who did it),
 * the lease ends. `$6` actor. `pending_left`: the job still had a pending item once this item
 * was locked (job_has_pending, migration 0006), so finalisation is someone else's turn.
 */
export const complete = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_complete",
    `with d as (
      update job_items i set status = ${I.done}, result = CAST($5 AS jsonb), lease_until = null,
        finished_at = $4, duration_ms = ${durationMs("$4")}
      from jobs j, ${actorSetting("$6")}
      where ${holds} and j.id = i.job_id
      returning ${itemColumns}, i.tenant_id, i.credits
    ), charged as (
      ${chargeRowsFrom(itemCharges("$6"))}
    )
    select d.*, job_has_pending(d.job_id) as pending_left from d`,
  ),
);

/**
 * Many items done and charged in ONE statement: `$1` item ids, `$5` their workers, `$6` their
 * results (one JSON array, in the same order), `$2` tenant, `$3` now, `$4` actor. Only items
 * held by their worker change (see `holds`); they are found by primary key and locked in id
 * order, so two calls over the same items cannot deadlock. Their charges are one ledger row per
 * job (chargeRowsFrom). `pending_left` as in `complete`, on the first row of each job (null on
 * the others), asked once every item is updated. `h` carries ids only and the result is looked
 * up per row: a join with the results would copy each result into the row kept for rechecks.
 * Rows come back slim (CompletedItem's columns): the caller has the inputs and results.
 */
export const completeMany = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_complete_many",
    `with m as (
      select u.id, u.worker, r.value as result
      from unnest(CAST($1 AS uuid[]), CAST($5 AS text[])) with ordinality as u(id, worker, n)
      join jsonb_array_elements(CAST($6 AS jsonb)) with ordinality as r(value, n) on r.n = u.n
    ), h as (
      select i.id from job_items i join m on m.id = i.id
      where i.id = any(CAST($1 AS uuid[])) and i.tenant_id = $2 and i.claimed_by = m.worker and i.lease_until > $3
      order by i.id
      for update of i
    ), d as (
      update job_items i set status = ${I.done}, result = (select m.result from m where m.id = i.id), lease_until = null,
        finished_at = $3, duration_ms = ${durationMs("$3")}
      from h, jobs j, ${actorSetting("$4")}
      where i.id = h.id and j.id = i.job_id
      returning i.id, i.job_id, i.status, ${isoUtc("i.finished_at")} as finished_at, i.duration_ms, i.tenant_id, i.credits
    ), charged as (
      ${chargeRowsFrom(itemCharges("$4"))}
    ), n as (
      select d.*, row_number() over (partition by d.job_id) as nth from d
    )
    select n.*, case when n.nth = 1 then job_has_pending(n.job_id) end as pending_left from n`,
  ),
);

/**
 * An item this worker already completed with this very result (`$1` item, `$2` tenant, `$3`
 * worker, `$4` result): a repeated completion, answered again instead of refused.
 */
export const completedAlready = /* @__PURE__ */ statement(
  () => `select ${itemColumns} from job_items i
    where i.id = $1 and i.tenant_id = $2 and i.status = ${I.done} and i.claimed_by = $3 and i.result = CAST($4 AS jsonb)`,
);

/** `completedAlready` for a batch: `$1` item ids, `$2` tenant, `$3` their workers, `$4` their results (a JSON array). */
export const completedAlreadyMany = /* @__PURE__ */ statement(
  () => `with m as (
      select u.id, u.worker, r.value as result
      from unnest(CAST($1 AS uuid[]), CAST($3 AS text[])) with ordinality as u(id, worker, n)
      join jsonb_array_elements(CAST($4 AS jsonb)) with ordinality as r(value, n) on r.n = u.n
    )
    select i.id, i.job_id, i.status, ${isoUtc("i.finished_at")} as finished_at, i.duration_ms
    from job_items i join m on m.id = i.id
    where i.tenant_id = $2 and i.status = ${I.done} and i.claimed_by = m.worker and i.result = m.result`,
);

/** Why workers do not hold items `$1` (tenant `$2`): their state, for those that exist. */
export const itemStates = `select id, status, claimed_by, lease_until from job_items where id = any(CAST($1 AS uuid[])) and tenant_id = $2`;

/**
 * Lock the item's job FOR SHARE before a failure may send the item back to pending: a cancel
 * (FOR UPDATE of the job, then pending items cancelled) either ran before, and the job reads
 * cancelled, or waits for this transaction and then cancels the item it finds pending.
 * Shared locks do not wait on each other, so failing workers of one job do not queue.
 */
export const lockItemJob = `select j.status from jobs j join job_items i on i.job_id = j.id
    where i.id = $1 and i.tenant_id = $2 for share of j`;

/**
 * A failure the worker reports: back to pending (retryable, attempts left, job running) or
 * failed. `$5` retryable, `$6` error. Returns `retried`, the job's task and the item's price.
 */
export const fail = /* @__PURE__ */ statement(
  () => `with t as (
      select i.id, (CAST($5 AS boolean) and i.attempt < j.max_attempts and j.status = ${J.running}) as retried,
        j.task, CAST(i.credits AS float8) as credits
      from job_items i join jobs j on j.id = i.job_id
      where ${holds}
      for update of i
    )
    update job_items i set
      status = case when t.retried then ${I.pending} else ${I.failed} end,
      claimed_by = case when t.retried then null else i.claimed_by end,
      lease_until = null,
      error = CAST($6 AS jsonb),
      finished_at = case when t.retried then null else CAST($4 AS timestamptz) end,
      duration_ms = case when t.retried then null else ${durationMs("$4")} end
    from t where i.id = t.id
    returning ${itemColumns}, i.tenant_id, t.retried, t.task, t.credits`,
);

/**
 * Put back an item the worker holds without counting its attempt, `$5` the error it keeps: the
 * worker could not start its work because an earlier execution still holds the item's
 * idempotency key (a worker that died mid-call), so nothing was tried. Only in a running job
 * (the caller locks the job first, as for a retry: lockItemJob); no row: the caller fails it.
 */
export const postpone = /* @__PURE__ */ statement(
  () => `update job_items i set status = ${I.pending}, claimed_by = null, lease_until = null,
      attempt = greatest(i.attempt - 1, 0), error = CAST($5 AS jsonb)
    from jobs j
    where ${holds} and j.id = i.job_id and j.status = ${J.running}
    returning i.id, i.job_id, i.tenant_id`,
);

/** Why a worker does not hold an item (tenant-scoped: another tenant's item is not found). */
export const itemState = `select status, claimed_by, lease_until from job_items where id = $1 and tenant_id = $2`;

/**
 * An item of job `$1` still pending or in flight, read after WAITING for every transaction
 * changing one of them (FOR SHARE): an item whose completion is being committed right now
 * counts as what it becomes, never as still claimed. No row: the job is finished. The one
 * row a scan stops at is locked only until this statement ends (it runs on its own).
 */
export const openItem = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_open_item",
    `select id from job_items where job_id = $1 and status in (${I.pending}, ${I.claimed}) limit 1 for share`,
  ),
);

/**
 * The item outbox's table (item-outbox.ts): a pending item of a running, unsettled skill job wants
 * a message. One sent is presumed lost after twice the item timeout and at least 300 s: more than
 * the JobItems queue's visibility timeout (150 s), so a message SQS is about to redeliver is not
 * doubled. The job's spawn is when its items were written.
 */
export const itemOutboxTable: OutboxTable = {
  table: "job_items",
  join: "join jobs j on j.id = t.job_id",
  columns: "t.id, t.job_id, t.tenant_id",
  waiting: `t.status = ${I.pending} and j.settled_at is null and j.status = ${J.running} and j.task <> 'external'`,
  createdAt: "j.created_at",
  resendAfterS: "greatest(2 * j.item_timeout_s, 300)",
};
