/**
 * The SQL of claiming items (claim.ts): an external agent's claim of a job's next items, the SQS
 * worker's claim of the items its messages name, and the parked items it wakes. Every instant is
 * a parameter decided by `clock()` in JS (see work.sql.ts). A claim never waits on another: rows
 * are locked FOR UPDATE SKIP LOCKED; a job's parallelism is counted by `job_claim_room`
 * (migration 0014).
 */

import { isoUtc, prepared } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { actorSetting } from "../platform/history/history.sql.ts";
import { ItemStates, JobStates } from "./states.ts";

const J = sqlLiterals(JobStates);
const I = sqlLiterals(ItemStates);

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
 * no more than the job's parallelism leaves room for (`job_claim_room`, migration 0014: exact
 * under concurrent claimers, it serialises the claims of a job with more items than its
 * parallelism). First the items whose lease ended before `$5` and that have attempts left (taken
 * over at once, not left to the next sweep; `e`), then pending items in order (`c`); each locked
 * and skipped if another claim holds it (job_items_claimed_idx, job_items_pending_idx):
 * concurrent claimers never share an item. Every claim counts an attempt, as a sweep followed
 * by a claim would. `$4` worker, `$5` now, `$6` lease seconds (null: the job's item_timeout_s),
 * `$7` the actor the items' history rows name.
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
      from jobs j, ${claimCommitsAsync}, ${actorSetting("$7")}
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
 * The worker wakes them when it finishes items of the job (`wakeParked`); the item outbox's
 * sweeper re-sends any left behind. Held rows come back with `held` true and only their ids;
 * `limited`: the job can be held back at all (more items than its parallelism).
 */
export const claimByIds = /* @__PURE__ */ statement(() =>
  prepared(
    "jobs_claim_by_ids",
    `with m as (
      select * from unnest(CAST($1 AS uuid[]), CAST($2 AS uuid[]), CAST($3 AS text[])) as m(item_id, job_id, worker)
    ), r as (
      select j.id, j.task, j.item_timeout_s, j.max_attempts, j.parallelism < j.items_total as limited, job_claim_room(j.id, $4) as room
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
      returning i.id, i.job_id, i.tenant_id, i.idx, i.input, i.claimed_by, r.task, r.item_timeout_s, r.limited,
        i.attempt, r.max_attempts, false as held
    )
    select * from u
    union all
    select held.id, null, null, null, null, null, null, null, null, null, null, true from held`,
  ),
);

/**
 * `job_claim_room`'s lock on job `$1` (migration 0014: class 1785686892, the job id's hashtext),
 * taken for the rest of the transaction. A waker takes it before looking for parked items: it
 * waits for a claim under way on the job to commit, so it sees every item that claim held back
 * (a claim's row locks and its uncommitted `enqueued_at = null` are invisible to a statement that
 * began before its commit, and such a parked item would wait for the sweeper).
 */
export const lockJobClaims = /* @__PURE__ */ statement(
  () => `select pg_advisory_xact_lock(1785686892, hashtext(CAST(CAST($1 AS uuid) AS text)))`,
);

/**
 * Up to `$2` pending items of job `$1` whose message was acknowledged without a claim (held back
 * by parallelism, `enqueued_at` null), oldest first, stamped sent at `$3` in the statement that
 * locks them (skipping rows a claim or another waker holds): two wakers never wake the same item,
 * so each finished item wakes a different parked one. Rows as the outbox's `sendStamped` takes them.
 */
export const wakeParked = /* @__PURE__ */ statement(
  () => `with p as (
      select t.id from job_items t
      where t.job_id = $1 and t.status = ${I.pending} and t.enqueued_at is null
      order by t.idx
      limit $2
      for update skip locked
    )
    update job_items t set enqueued_at = $3 from p where t.id = p.id
    returning t.id, t.job_id, t.tenant_id, t.id as outbox_id, CAST(null AS timestamptz) as outbox_prev`,
);
