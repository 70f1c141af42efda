/**
 * SQL of the backfill (backfill.ts): historical failures read in keyset batches, and written to
 * failure_matches in one statement per batch.
 */
import { sqlLiterals } from "../platform/db/index.ts";

const I = sqlLiterals({ failed: "failed" });

/**
 * Failed job items after `$3` (keyset on the item's id), optionally of one tenant (`$1`) and since
 * `$2`. `live`: the item's failure was recorded when it happened (core/jobs/item-failure.ts
 * writes the job as run_id and the item in the context), so the backfill leaves it alone.
 */
export const failedItems = `
select i.id, i.job_id as "jobId", i.tenant_id as "tenantId", i.attempt, i.error, j.task,
  coalesce(i.finished_at, j.created_at) as "failedAt",
  exists (
    select 1 from failure_matches fm
    where fm.run_id = CAST(i.job_id AS varchar) and fm.tenant_id = i.tenant_id
      and fm.context_json->>'item_id' = CAST(i.id AS text)
  ) as live
from job_items i
join jobs j on j.id = i.job_id
where i.status = ${I.failed} and i.error is not null
  and (CAST($1 AS uuid) is null or i.tenant_id = $1)
  and (CAST($2 AS timestamptz) is null or coalesce(i.finished_at, j.created_at) >= $2)
  and i.id > $3
order by i.id
limit $4`;

/**
 * queue_failures rows after `$3` (keyset on id), optionally of one tenant and since `$2`. A row
 * without a tenant (or of a tenant since deleted) belongs to the platform tenant (`$5`), as
 * Failures.record files it. `live`: recorded when it happened (functions/_lib/sqs.ts: the message
 * id as run_id, the queue in the context).
 */
export const queueFailures = `
select q.id, q.queue, q.message_id as "messageId", q.error_code as "errorCode",
  q.error_message as "errorMessage", q.receive_count as "receiveCount", q.created_at as "failedAt",
  coalesce((select t.id from tenants t where t.id = q.tenant_id), CAST($5 AS uuid)) as "tenantId",
  exists (
    select 1 from failure_matches fm
    where fm.run_id = q.message_id and fm.context_json->>'queue' = q.queue
  ) as live
from queue_failures q
where (CAST($1 AS uuid) is null or q.tenant_id = $1)
  and (CAST($2 AS timestamptz) is null or q.created_at >= $2)
  and q.id > $3
order by q.id
limit $4`;

/** Which of these ids are in failure_matches already (an earlier backfill's). */
export const existingIds = `
select id from failure_matches where id = any(CAST($1 AS uuid[]))`;

/** A batch of records (JSON array of FailureRecordMessage-shaped rows); their ids make a rerun a no-op. */
export const insertBatch = `
insert into failure_matches (
  id, run_id, tenant_id, error_code, error_message, catalog_entry_id, match_type, match_confidence,
  category, severity, is_retryable, recovery_mode, recovery_suggestion, skill_id, step_index,
  context_json, created_at, updated_at)
select r.id, r."runId", r."tenantId", r."errorCode", r."errorMessage", r."catalogEntryId", r."matchType",
  r."matchConfidence", r.category, r.severity, r."isRetryable", r."recoveryMode", r."recoverySuggestion",
  r."skillId", r."stepIndex", r.context, r."createdAt", r."createdAt"
from jsonb_to_recordset(CAST($1 AS jsonb)) as r(
  id uuid, "runId" varchar, "tenantId" uuid, "errorCode" varchar, "errorMessage" text,
  "catalogEntryId" varchar, "matchType" varchar, "matchConfidence" double precision, category varchar,
  severity varchar, "isRetryable" boolean, "recoveryMode" varchar, "recoverySuggestion" text,
  "skillId" varchar, "stepIndex" integer, context jsonb, "createdAt" timestamptz)
on conflict (id) do nothing
returning id`;
