/**
 * The SQL of working on items: claims (external agents by job, the SQS worker by item ids),
 * heartbeat, complete, fail and the sweeper's statements.
 *
 * Every instant is a parameter decided by `clock()` in JS, never Postgres' `now()`, so leases and
 * the sweeper follow the clock a test sets. Item changes never touch the `jobs` row: a busy job
 * would queue every worker on it. Rows come back in the API's shape (ItemRecord's columns).
 */

import { chargeRowsFrom } from "../credits/index.ts";
import { isoUtc, prepared } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
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

/**
 * A FROM item that turns synchronous_commit off for the statement's own (implicit) transaction:
 * a claim's commit does not wait for its WAL to reach disk. Safe for claims only, and only when
 * the claim is a statement of its own (never inside withTx: the setting would cover the whole
 * transaction). A crash can lose at most the last fraction of a second of claims: those items are
 * pending again, exactly as if their leases had run out at the crash, and the worker's completion
 * is refused (409 lease_lost, nothing charged). Completions commit synchronously, and flushing a
 * completion's commit flushes every earlier WAL record, so a durable completion never rests on a
 * lost claim. Decision 0008.
 */
const claimCommitsAsync = `(select set_config('synchronous_commit', 'off', true)) as async_commit`;
/**
 * Tenant-scoped (another tenant's job is not found), with its items in flight now
 * (job_items_claimed_idx): why a claim came back empty.
 */
export const jobForClaim = /* @__PURE__ */ statement(
  () => `select j.id, j.status, j.task, j.parallelism, j.item_timeout_s,
      (select count(*) from job_items c where c.job_id = j.id and c.status = ${I.claimed}) as in_flight
    from jobs j where j.id = $1 and j.tenant_id = $2`,
);

/** The error an item keeps when its lease ended and another claim (or the sweeper) took it back. */
export const leaseExpiredError = { code: "jobs.lease_expired", message: "The lease ended before the item finished" };
const leaseExpiredJson = `CAST('${JSON.stringify(leaseExpiredError)}' AS jsonb)`;

/**
 * The claim in ONE statement: job `$1` of tenant `$2`, running and external; up to `$3` items,
 * no more than the job's parallelism leaves room for (`job_claim_room`, migration 0013: exact
 * under concurrent claimers, it serialises the claims of a job with more items than its
 * parallelism). First the items whose lease ended before `$5` and that have attempts left (taken
 * over at once, not left to the next sweep; `e`), then pending items in order (`c`); each locked
 * and skipped if another claim holds it (job_items_claimed_idx, job_items_pending_idx):
 * concurrent claimers never share an item. Every claim counts an attempt, as a sweep followed
 * by a claim would. `$4` worker, `$5` now, `$6` lease seconds (null: the job's item_timeout_s).
 * No row: see `jobForClaim` for why. `taken_over`: the item's previous lease had ended.
 *
 * The items are found by the id `j` returns (the tenant checked there), not by `$1`: then no
 * estimate depends on a parameter's value, a plan made for one job costs the same as the
 * generic one, and Postgres keeps the generic plan instead of planning every claim again
 * (planning was a fifth of a claim's cost).
 */
export const claimPending = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_claim_pending",
    `with j as (
      select j.id, j.item_timeout_s, j.max_attempts,
        greatest(least(CAST($3 AS integer), job_claim_room(j.id, $5)), 0) as n
      from jobs j, ${claimCommitsAsync}
      where j.id = $1 and j.tenant_id = $2 and j.status = ${J.running} and j.task = 'external'
    ), e as (
      select id from job_items
      where job_id = (select id from j) and status = ${I.claimed} and lease_until < $5
        and attempt < (select max_attempts from j)
      order by lease_until
      limit coalesce((select n from j), 0)
      for update skip locked
    ), c as (
      select id from job_items
      where job_id = (select id from j) and status = ${I.pending}
      order by idx
      limit coalesce((select n from j), 0) - (select count(*) from e)
      for update skip locked
    ), t as (
      select id, true as taken_over from e union all select id, false from c
    )
    update job_items i set status = ${I.claimed}, claimed_by = $4,
      lease_until = CAST($5 AS timestamptz) + make_interval(secs => coalesce(CAST($6 AS integer), (select item_timeout_s from j))),
      attempt = i.attempt + 1, claimed_at = $5,
      error = case when t.taken_over then ${leaseExpiredJson} else i.error end
    from t where i.id = t.id
    returning i.id, i.idx, i.input, i.attempt, ${isoUtc("i.lease_until")} as lease_until, t.taken_over`,
  ),
);

/**
 * The SQS worker's claim of a batch: `$1` item ids, `$2` job ids, `$3` worker ids (one per
 * message), `$4` now. An item is claimable when, in a running job, it is pending, or its lease
 * ended before `$4` with attempts left (taken over at once, attempt counted), or it is still
 * claimed by this very worker (the same message redelivered after its bookkeeping failed: it
 * already counts against parallelism). The lease is the job's item_timeout_s. Rows another
 * claim has locked are skipped, never waited for.
 *
 * Parallelism: each job of the batch gives its room (`job_claim_room`, taken in job id order so
 * two batches never wait on each other in a cycle); a job's fresh claims beyond it are `held`:
 * not claimed, and marked never sent (`enqueued_at` null) since their message is acknowledged.
 * The worker wakes them when it finishes items of the job (`parkedItems`); the item outbox's
 * sweeper re-sends any left behind. Held rows come back with `held` true and only their ids;
 * `limited`: the job can be held back at all (more items than its parallelism).
 */
export const claimByIds = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_claim_by_ids",
    `with m as (
      select * from unnest(CAST($1 AS uuid[]), CAST($2 AS uuid[]), CAST($3 AS text[])) as m(item_id, job_id, worker)
    ), r as (
      select j.id, j.task, j.item_timeout_s, j.parallelism < j.items_total as limited, job_claim_room(j.id, $4) as room
      from jobs j, ${claimCommitsAsync}
      where j.id in (select job_id from m) and j.status = ${J.running}
      order by j.id
    ), c as (
      select i.id, i.job_id, m.worker, i.status = ${I.pending} or i.claimed_by <> m.worker as fresh from job_items i
      join m on m.item_id = i.id and m.job_id = i.job_id
      join jobs j on j.id = i.job_id
      where j.id in (select id from r)
        and (i.status = ${I.pending} or (i.status = ${I.claimed} and (i.claimed_by = m.worker
          or (i.lease_until < CAST($4 AS timestamptz) and i.attempt < j.max_attempts))))
      order by i.id
      for update of i skip locked
    ), k as (
      select c.id, c.worker, c.fresh, (not c.fresh or row_number() over (partition by c.job_id, c.fresh order by c.id) <= r.room) as go
      from c join r on r.id = c.job_id
    ), held as (
      update job_items i set enqueued_at = null from k where i.id = k.id and not k.go
      returning i.id
    ), u as (
      update job_items i set status = ${I.claimed}, claimed_by = k.worker,
        lease_until = CAST($4 AS timestamptz) + make_interval(secs => r.item_timeout_s),
        attempt = case when k.fresh then i.attempt + 1 else i.attempt end,
        claimed_at = case when k.fresh then CAST($4 AS timestamptz) else i.claimed_at end,
        error = case when k.fresh and i.status = ${I.claimed} then ${leaseExpiredJson} else i.error end
      from k, r
      where i.id = k.id and k.go and r.id = i.job_id
      returning i.id, i.job_id, i.tenant_id, i.idx, i.input, i.claimed_by, r.task, r.item_timeout_s, r.limited, false as held
    )
    select * from u
    union all
    select held.id, null, null, null, null, null, null, null, null, true from held`,
  ),
);

/**
 * Pending items of jobs `$1` whose message was acknowledged without a claim (held back by
 * parallelism, `enqueued_at` null), up to `$2` per call, oldest first: the outbox's rows to wake
 * once items of those jobs finished. Only jobs that can be held back (more items than their
 * parallelism) are looked at. Locked, skipping rows a claim or another waker holds.
 */
export const parkedItems = /* @__PURE__ */ statement(
  () => `select t.id, t.job_id, t.tenant_id from job_items t
    where t.job_id = any(CAST($1 AS uuid[])) and t.status = ${I.pending} and t.enqueued_at is null
    order by t.job_id, t.idx
    limit $2
    for update skip locked`,
);

/** Extend the lease the worker holds by `$5` seconds, or by the job's item_timeout_s. */
export const heartbeat = /* @__PURE__ */ statement(
  () => `update job_items i
      set lease_until = CAST($4 AS timestamptz) + make_interval(secs => coalesce(CAST($5 AS integer), j.item_timeout_s))
    from jobs j
    where ${holds} and j.id = i.job_id
    returning ${itemColumns}`,
);

/**
 * Done, with its result, and charged, in ONE statement (atomic without begin/commit round
 * trips): the item's update and its `charge:<item>` ledger row. `claimed_by` stays (who did it),
 * the lease ends. `$6` actor. `pending_left`: the job still had a pending item once this item
 * was locked (job_has_pending, migration 0006), so finalisation is someone else's turn.
 */
export const complete = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_complete",
    `with d as (
      update job_items i set status = ${I.done}, result = CAST($5 AS jsonb), lease_until = null,
        finished_at = $4, duration_ms = ${durationMs("$4")}
      from jobs j
      where ${holds} and j.id = i.job_id
      returning ${itemColumns}, i.tenant_id, j.credits_per_item
    ), charged as (
      ${chargeRowsFrom("(select tenant_id, job_id, id as item_id, credits_per_item as amount, CAST($6 AS text) as actor from d)")}
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
      from h, jobs j
      where i.id = h.id and j.id = i.job_id
      returning i.id, i.job_id, i.status, ${isoUtc("i.finished_at")} as finished_at, i.duration_ms, i.tenant_id, j.credits_per_item
    ), charged as (
      ${chargeRowsFrom("(select tenant_id, job_id, id as item_id, credits_per_item as amount, CAST($4 AS text) as actor from d)")}
    ), n as (
      select d.*, row_number() over (partition by d.job_id) as nth from d
    )
    select n.*, case when n.nth = 1 then job_has_pending(n.job_id) end as pending_left from n`,
  ),
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
 * failed. `$5` retryable, `$6` error. Returns `retried`, the job's task and item cost.
 */
export const fail = /* @__PURE__ */ statement(
  () => `with t as (
      select i.id, (CAST($5 AS boolean) and i.attempt < j.max_attempts and j.status = ${J.running}) as retried,
        j.task, CAST(j.credits_per_item AS float8) as credits_per_item
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
    returning ${itemColumns}, i.tenant_id, t.retried, t.task, t.credits_per_item`,
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

// --- the sweeper ---

/** Claims whose lease ended before `$1`, oldest first, locked (skipping those a worker is finishing). */
export const expiredLeases = /* @__PURE__ */ statement(
  () => `select id, job_id, tenant_id, attempt from job_items
    where status = ${I.claimed} and lease_until < $1
    order by lease_until
    limit $2
    for update skip locked`,
);

/** The latest end of a lease an SQS worker holds (null: none), read from job_items_claimed_idx. */
export const lastQueueLeaseEnd = `select max(lease_until) as until from job_items
    where status = ${I.claimed} and claimed_by like 'sqs:%'`;

/** The jobs of expired items, locked FOR SHARE (see lockItemJob), in id order. */
export const lockJobs = `select id, status, task, max_attempts, CAST(credits_per_item AS float8) as credits_per_item from jobs
    where id = any(CAST($1 AS uuid[])) order by id for share`;

/** Back to pending after a lost lease: the claim's worker is forgotten, its attempt counted. */
export const requeue = /* @__PURE__ */ statement(
  () => `update job_items set status = ${I.pending}, claimed_by = null, lease_until = null, error = CAST($2 AS jsonb)
    where id = any(CAST($1 AS uuid[])) and status = ${I.claimed}
    returning id, job_id`,
);

/** Failed after a lost lease with no attempt left (or the job no longer running). */
export const expireFailed = /* @__PURE__ */ statement(
  () => `update job_items i set status = ${I.failed}, lease_until = null, error = CAST($2 AS jsonb),
      finished_at = $3, duration_ms = ${durationMs("$3")}
    where i.id = any(CAST($1 AS uuid[])) and i.status = ${I.claimed}
    returning i.id, i.job_id, i.tenant_id`,
);

/** Unsettled jobs with no item pending or in flight: finalisation is due. */
export const finalisable = /* @__PURE__ */ statement(
  () => `select j.id from jobs j
    where j.settled_at is null
      and not exists (select 1 from job_items i where i.job_id = j.id and i.status in (${I.pending}, ${I.claimed}))
    order by j.created_at
    limit $1`,
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
