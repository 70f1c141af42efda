/** SQL of the failure queries and recovery tracking (failure_matches, migration 0015). */
import { isoUtc } from "../platform/db/index.ts";

/** Every column in the wire shape (FailureRecord). */
export const columns = `id, run_id, tenant_id, error_code, error_message, catalog_entry_id, match_type,
  match_confidence, category, severity, is_retryable, recovery_mode, recovery_suggestion,
  recovery_attempted, recovery_succeeded, ${isoUtc("recovered_at")} as recovered_at, recovered_by,
  recovery_notes, skill_id, step_index, context_json as context, ${isoUtc("created_at")} as created_at,
  ${isoUtc("updated_at")} as updated_at`;

export interface ListFilters {
  tenantId: string;
  since: Date;
  runId?: string | undefined;
  errorCode?: string | undefined;
  category?: string | undefined;
  severity?: string | undefined;
  status: "unrecovered" | "recovered" | "all";
  /** Keyset: rows strictly after (created_at, id) in newest-first order. */
  after?: { createdAt: string; id: string } | undefined;
  offset?: number | undefined;
  limit: number;
}

/**
 * A tenant's failures, newest first, filtered. Every value is a parameter; the unrecovered
 * filter is the predicate of idx_fm_recovery_pending.
 */
export function listSql(f: ListFilters): { text: string; params: unknown[] } {
  const params: unknown[] = [f.tenantId, f.since];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ["tenant_id = $1", "created_at >= $2"];
  if (f.runId !== undefined) where.push(`run_id = ${p(f.runId)}`);
  if (f.errorCode !== undefined) where.push(`error_code = ${p(f.errorCode)}`);
  if (f.category !== undefined) where.push(`category = ${p(f.category)}`);
  if (f.severity !== undefined) where.push(`severity = ${p(f.severity)}`);
  if (f.status === "unrecovered") where.push("recovery_succeeded is not true");
  if (f.status === "recovered") where.push("recovery_succeeded is true");
  if (f.after)
    where.push(`(created_at, id) < (CAST(${p(f.after.createdAt)} AS timestamptz), CAST(${p(f.after.id)} AS uuid))`);
  const limit = p(f.limit);
  const offset = f.offset ? ` offset ${p(f.offset)}` : "";
  return {
    text: `select ${columns} from failure_matches where ${where.join(" and ")}
      order by created_at desc, id desc limit ${limit}${offset}`,
    params,
  };
}

/** A task's most frequent catalogued failures of the window, with its total of recorded failures. */
export const frequentForSkill = `
select catalog_entry_id, recovery_mode, CAST(count(*) AS int) as n,
  CAST(sum(count(*)) over () AS int) as total
from failure_matches
where tenant_id = $1 and skill_id = $2 and created_at >= $3
group by catalog_entry_id, recovery_mode
order by n desc, catalog_entry_id
limit $4`;

/** One batch of records older than the cutoff, oldest first (idx_fm_created_at). */
export const deleteOlder = `
delete from failure_matches where id in (
  select id from failure_matches where created_at < $1 order by created_at limit $2
)`;

export const getOne = `select ${columns} from failure_matches where id = $1 and tenant_id = $2`;

/** The row locked for a recovery change, with what status_history needs. */
export const lockForRecovery = `select recovery_attempted, recovery_succeeded from failure_matches
  where id = $1 and tenant_id = $2 for update`;

/** Only the recovery columns (the application role may update nothing else). */
export const updateRecovery = `update failure_matches set
    recovery_attempted = $3, recovery_succeeded = $4,
    recovered_at = case when $4 then coalesce(recovered_at, $5) else null end,
    recovered_by = $6,
    recovery_notes = coalesce($7, recovery_notes),
    updated_at = $5
  where id = $1 and tenant_id = $2
  returning ${columns}`;

/** Counts over the window: totals, by category, severity and entry, with time to recover. */
export const stats = `
with w as (
  select * from failure_matches where tenant_id = $1 and created_at >= $2
)
select
  CAST((select count(*) from w) AS int) as total,
  CAST((select count(*) from w where catalog_entry_id is not null) AS int) as hits,
  CAST((select count(*) from w where catalog_entry_id is null) AS int) as misses,
  CAST((select count(*) from w where recovery_succeeded is true) AS int) as recovered,
  CAST((select count(*) from w where recovery_succeeded is not true) AS int) as unrecovered,
  coalesce((select json_agg(json_build_object('category', category, 'count', n) order by n desc, category)
    from (select category, CAST(count(*) AS int) as n from w group by category) c), '[]') as by_category,
  coalesce((select json_agg(json_build_object('severity', severity, 'count', n) order by n desc, severity)
    from (select severity, CAST(count(*) AS int) as n from w group by severity) s), '[]') as by_severity,
  coalesce((select json_agg(json_build_object(
      'catalog_entry_id', catalog_entry_id, 'count', n, 'recovered', r,
      'median_time_to_recover_s', med, 'avg_time_to_recover_s', avg_s) order by n desc, catalog_entry_id)
    from (
      select catalog_entry_id, CAST(count(*) AS int) as n,
        CAST(count(*) filter (where recovery_succeeded is true) AS int) as r,
        percentile_cont(0.5) within group (order by extract(epoch from recovered_at - created_at))
          filter (where recovery_succeeded is true and recovered_at is not null) as med,
        avg(extract(epoch from recovered_at - created_at))
          filter (where recovery_succeeded is true and recovered_at is not null) as avg_s
      from w group by catalog_entry_id
    ) e), '[]') as by_entry`;

/** The matches recorded for runs of a tenant (the generator reads back what it provoked). */
export const matchesOfRuns = `
select run_id as "runId", catalog_entry_id as "catalogEntryId", match_type as "matchType",
  match_confidence as "matchConfidence", category
from failure_matches
where tenant_id = $1 and run_id = any(CAST($2 AS varchar[]))`;
