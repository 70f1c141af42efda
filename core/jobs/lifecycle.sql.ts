/**
 * The SQL of a job's lifecycle: spawn, the read side (get, list, items), simulation's duration
 * history, cancellation and finalisation. Rows come back in the API's wire shape (snake_case);
 * amounts as float8 (they have at most 4 decimals), instants as UTC text with microseconds so a
 * keyset cursor built from `created_at` finds its place exactly.
 *
 * Instants written are parameters decided by `clock()` in JS (tests move a ManualClock), except a
 * job's `created_at`: the order of listings, to the microsecond.
 */
import { isoUtc } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { ItemStates, type JobState, JobStates } from "./states.ts";

const J = sqlLiterals(JobStates);
const I = sqlLiterals(ItemStates);

/** A job row in wire shape, alias `j`, without its counts and credits. */
const jobColumns = `j.id, j.tenant_id, j.task, j.status, j.parallelism, CAST(j.credits_per_item AS float8) as credits_per_item,
  j.max_attempts, j.item_timeout_s, j.items_total, j.metadata, j.created_by, ${isoUtc("j.created_at")} as created_at,
  ${isoUtc("j.finished_at")} as finished_at, ${isoUtc("j.settled_at")} as settled_at`;

/** An item row in wire shape, alias `i`. */
const itemColumns = `i.id, i.job_id, i.idx, i.input, i.status, i.attempt, i.claimed_by, ${isoUtc("i.lease_until")} as lease_until,
  i.result, i.error, ${isoUtc("i.claimed_at")} as claimed_at, ${isoUtc("i.finished_at")} as finished_at, i.duration_ms`;
/**
 * $1 tenant, $2 task, $3 parallelism, $4 credits_per_item, $5 max_attempts, $6 item_timeout_s,
 * $7 items, $8 metadata, $9 actor, $10 the reserve (the sum of the items' prices). `created_at` is the transaction's now(), to the microsecond:
 * listings order by it, and jobs spawned within one millisecond still come out in order.
 */
export const insertJob = `insert into jobs (tenant_id, task, parallelism, credits_per_item, max_attempts, item_timeout_s,
      items_total, credits_reserved, metadata, created_by, plan_hash)
    values ($1, $2, $3, CAST($4 AS numeric), $5, $6, $7, CAST($10 AS numeric), CAST($8 AS jsonb), $9, $11)
    returning id, CAST(credits_reserved AS float8) as credits_reserved`;

/**
 * Every item of a job in one statement from one JSON array of inputs ($3) and their prices ($4,
 * in the same order): 10,000 rows, one round trip. `idx` is the position in the array; ids are
 * time-ordered and, within the job, in idx order (uuid7, migration 0008).
 */
export const insertItems = `insert into job_items (id, job_id, tenant_id, idx, input, credits)
    select uuid7(CAST(x.ord - 1 AS integer)), $1, $2, CAST(x.ord - 1 AS integer), x.value, c.credits
    from jsonb_array_elements(CAST($3 AS jsonb)) with ordinality as x(value, ord)
    join unnest(CAST($4 AS numeric[])) with ordinality as c(credits, ord) on c.ord = x.ord
    returning id, idx`;

/** One job of tenant $2. */
export const getJob = /* @__PURE__ */ statement(
  () => `select ${jobColumns} from jobs j where j.id = $1 and j.tenant_id = $2`,
);

/**
 * A page of tenant $1's jobs, newest first, after the keyset ($4 created_at, $5 id) when given;
 * walks jobs_tenant_created_idx. $6 is the page size plus one.
 */
export const listJobs = /* @__PURE__ */ statement(
  () => `select ${jobColumns} from jobs j
    where j.tenant_id = $1
      and (CAST($2 AS text) is null or j.status = $2)
      and (CAST($3 AS text) is null or j.task = $3)
      and (CAST($4 AS timestamptz) is null or (j.created_at, j.id) < (CAST($4 AS timestamptz), CAST($5 AS uuid)))
    order by j.created_at desc, j.id desc
    limit $6`,
);

/** Items by state of the jobs in $1: each job's items through the unique (job_id, idx) index. */
export const countItems = `select job_id, status, CAST(count(*) AS integer) as n from job_items
    where job_id = any(CAST($1 AS uuid[])) group by job_id, status`;

/** A page of job $1's items (tenant $2) in order, after idx $4; $5 is the page size plus one. */
export const listItems = /* @__PURE__ */ statement(
  () => `select ${itemColumns} from job_items i
    where i.job_id = $1 and i.tenant_id = $2
      and (CAST($3 AS text) is null or i.status = $3)
      and i.idx > $4
    order by i.idx
    limit $5`,
);

/** The job row locked for cancellation or finalisation ($2: its tenant, null for the system). */
export const lockJob = `select j.id, j.tenant_id, j.status, CAST(j.credits_per_item AS float8) as credits_per_item, j.created_at,
      j.finished_at, j.settled_at, j.plan_hash
    from jobs j where j.id = $1 and (CAST($2 AS uuid) is null or j.tenant_id = $2)
    for update`;

export const getCancellation = /* @__PURE__ */ statement(
  () => `select job_id, ${J.cancelled} as status, completed_items, cancelled_items, in_flight_items,
      CAST(credits_refunded AS float8) as credits_refunded
    from job_cancellations where job_id = $1`,
);

/** Pending items of job $1 cancelled at $2; how many, and the sum of their prices (what goes back). */
export const cancelPending = /* @__PURE__ */ statement(
  () => `with c as (
      update job_items set status = ${I.cancelled}, finished_at = $2
      where job_id = $1 and status = ${I.pending}
      returning credits
    )
    select CAST(count(*) AS integer) as n, CAST(coalesce(sum(credits), 0) AS text) as credits from c`,
);

/** Open and finished items of job $1 by state. */
export const itemTally = /* @__PURE__ */ statement(
  () => `select CAST(count(*) filter (where status = ${I.pending}) AS integer) as pending,
      CAST(count(*) filter (where status = ${I.claimed}) AS integer) as claimed,
      CAST(count(*) filter (where status = ${I.done}) AS integer) as done,
      CAST(count(*) filter (where status = ${I.failed}) AS integer) as failed
    from job_items where job_id = $1`,
);

/** $1 job, $2 finished_at (null while items are in flight). */
export const markCancelled = /* @__PURE__ */ statement(
  () => `update jobs set status = ${J.cancelled}, finished_at = $2 where id = $1`,
);

/** $1 job, $2 tenant, $3 completed, $4 cancelled, $5 in flight, $6 credits refunded, $7 reason, $8 actor, $9 now */
export const insertCancellation = /* @__PURE__ */ statement(
  () => `insert into job_cancellations (job_id, tenant_id, completed_items, cancelled_items,
      in_flight_items, credits_refunded, reason, cancelled_by, created_at)
    values ($1, $2, $3, $4, $5, CAST($6 AS numeric), $7, $8, $9)
    returning job_id, ${J.cancelled} as status, completed_items, cancelled_items, in_flight_items,
      CAST(credits_refunded AS float8) as credits_refunded`,
);

/** $1 job, $2 status, $3 now: closed and settled. */
export const markSettled = `update jobs set status = $2, finished_at = coalesce(finished_at, $3), settled_at = $3 where id = $1`;

export const jobStatus = `select status from jobs where id = $1`;

export interface JobRow {
  id: string;
  tenant_id: string;
  task: string;
  status: JobState;
  parallelism: number;
  credits_per_item: number;
  max_attempts: number;
  item_timeout_s: number;
  items_total: number;
  metadata: Record<string, unknown>;
  created_by: string;
  created_at: string;
  finished_at: string | null;
  settled_at: string | null;
}

export interface LockedJob {
  id: string;
  tenant_id: string;
  status: JobRow["status"];
  credits_per_item: number;
  created_at: Date;
  finished_at: Date | null;
  settled_at: Date | null;
  /** Costsim.hashOf of the job's plan, kept while COSTSIM_V2_SANDBOX was on at its spawn. */
  plan_hash: string | null;
}

export interface ItemTally {
  pending: number;
  claimed: number;
  done: number;
  failed: number;
}
