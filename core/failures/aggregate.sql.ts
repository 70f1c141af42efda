/**
 * SQL of the daily failure aggregation (core/failures/aggregate.ts): counts of one tenant's UTC
 * day of failure_matches, and failure_aggregates (migration 0020), the record of what was
 * written to S3. $2 / $3 are the day's bounds [start, end).
 */

/** Tenants with failures recorded in [$1, $2) (idx_fm_created_at). */
export const tenantsOfDay = `
select distinct tenant_id from failure_matches where created_at >= $1 and created_at < $2 order by tenant_id`;

/** Per entry (a miss: entry null), with its category and severity as recorded: the day's counts. */
export const entryCounts = `
select catalog_entry_id, category, severity,
  CAST(count(*) AS int) as failures,
  CAST(count(*) filter (where catalog_entry_id is not null) AS int) as hits,
  CAST(count(*) filter (where catalog_entry_id is null) AS int) as misses,
  CAST(count(*) filter (where recovery_attempted is true) AS int) as recovery_attempted,
  CAST(count(*) filter (where recovery_succeeded is true) AS int) as recovered,
  CAST(count(*) filter (where recovery_succeeded is not true) AS int) as unrecovered
from failure_matches
where tenant_id = $1 and created_at >= $2 and created_at < $3
group by catalog_entry_id, category, severity
order by catalog_entry_id nulls first, category nulls first, severity nulls first`;

/** The day's unmatched messages as written, most frequent first ($4: at most this many). */
export const unmatchedMessages = `
select error_code, coalesce(error_message, '') as error_message, CAST(count(*) AS int) as n
from failure_matches
where tenant_id = $1 and created_at >= $2 and created_at < $3 and catalog_entry_id is null
group by error_code, error_message
order by n desc, error_code, error_message
limit $4`;

/**
 * Record (or replace) what a run wrote for $1 tenant, $2 day; the row with the SHA-256 the
 * previous run recorded (null the first time).
 */
export const upsertAggregate = `
with prev as (select sha256 from failure_aggregates where tenant_id = $1 and day = CAST($2 AS date))
insert into failure_aggregates as a (tenant_id, day, object_key, sha256, rows, failures, bytes, generated_at)
values ($1, CAST($2 AS date), $3, $4, $5, $6, $7, $8)
on conflict (tenant_id, day) do update set
  object_key = excluded.object_key, sha256 = excluded.sha256, rows = excluded.rows,
  failures = excluded.failures, bytes = excluded.bytes, generated_at = excluded.generated_at,
  runs = a.runs + 1
returning a.runs, (select sha256 from prev) as previous_sha256`;
