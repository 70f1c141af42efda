/**
 * The sweeper's SQL (sweep.ts): expired leases back to pending or failed, finished jobs found.
 * Instants are parameters decided by `clock()` in JS, as in work.sql.ts.
 */

import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { ItemStates } from "./states.ts";

const I = sqlLiterals(ItemStates);

/** Milliseconds from the claim to `$now` (the parameter named), never negative. */
const durationMs = (now: string) =>
  `CAST(greatest(0, round(extract(epoch from (CAST(${now} AS timestamptz) - i.claimed_at)) * 1000)) AS integer)`;

/** Claims whose lease ended before `$1`, oldest first, locked (skipping those a worker is finishing). */
export const expiredLeases = /* @__PURE__ */ statement(
  () => `select id, job_id, tenant_id, attempt, CAST(credits AS float8) as credits from job_items
    where status = ${I.claimed} and lease_until < $1
    order by lease_until
    limit $2
    for update skip locked`,
);

/** The jobs of expired items, locked FOR SHARE (see lockItemJob), in id order. */
/** The latest end of a lease an SQS worker holds (null: none), read from job_items_claimed_idx. */
export const lastQueueLeaseEnd = `select max(lease_until) as until from job_items
    where status = ${I.claimed} and claimed_by like 'sqs:%'`;

export const lockJobs = `select id, status, task, max_attempts from jobs
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
