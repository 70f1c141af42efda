/**
 * SQL of workflow ops retention (core/workflows/retention.ts, migration 0020): the runs whose
 * ops are due, their ops page by page, the export's record (workflow_ops_archives), and the one
 * delete path, workflow_archive_ops.
 */
import { isoUtc } from "../platform/db/index.ts";
import { statement } from "../platform/db/statement.ts";
import { opColumns } from "./ops.sql.ts";

/**
 * Finished runs whose ops are still in the log, finished before $1, oldest first, at most $2,
 * leaving out $3 (runs that already failed in this invocation). Every tenant's: a system cron.
 * workflow_runs_retention_idx.
 */
export const dueRuns = /* @__PURE__ */ statement(
  () => `select r.id, r.tenant_id, r.status, ${isoUtc("r.finished_at")} as finished_at
    from workflow_runs r
    where r.status <> 'running' and r.ops_archived_at is null and r.finished_at < CAST($1 AS timestamptz)
      and not (r.id = any(CAST($3 AS uuid[])))
    order by r.finished_at, r.id limit $2`,
);

/** $1 run, $2 tenant: what the export reads first (in the export's snapshot). */
export const runForExport = /* @__PURE__ */ statement(
  () => `select r.head_hash, r.ops_archived_at is not null as archived
    from workflow_runs r where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid)`,
);

/** $1 run, $2 tenant: ops after op_index $3, in order, at most $4; every column, in the API's shape. */
export const opsPage = /* @__PURE__ */ statement(
  () => `select CAST(o.workflow_run_id AS text) as workflow_run_id, CAST(o.tenant_id AS text) as tenant_id, ${opColumns}
    from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid) and o.op_index > $3
    order by o.op_index limit $4`,
);

/**
 * Record the export of run $1 (tenant $2): $3 key, $4 sha256, $5 ops, $6 head_hash, $7 bytes,
 * $8 exported_at. A rerun before the delete replaces it; once the ops were deleted it stays.
 */
export const recordExport = /* @__PURE__ */ statement(
  () => `insert into workflow_ops_archives as a (workflow_run_id, tenant_id, object_key, sha256, ops, head_hash, bytes, exported_at)
    values (CAST($1 AS uuid), CAST($2 AS uuid), $3, $4, $5, $6, $7, CAST($8 AS timestamptz))
    on conflict (workflow_run_id) do update set object_key = excluded.object_key, sha256 = excluded.sha256,
      ops = excluded.ops, head_hash = excluded.head_hash, bytes = excluded.bytes, exported_at = excluded.exported_at
    where a.deleted_at is null and a.tenant_id = excluded.tenant_id`,
);

/** The one delete path: $1 tenant, $2 run, $3 cutoff; ops deleted, or null when they already were. */
export const archiveOps = /* @__PURE__ */ statement(
  () => `select workflow_archive_ops(CAST($1 AS uuid), CAST($2 AS uuid), CAST($3 AS timestamptz)) as deleted`,
);

/** $1 run, $2 tenant: the archive of a run whose ops were removed (none otherwise). */
export const archivedRun = /* @__PURE__ */ statement(
  () => `select CAST(a.workflow_run_id AS text) as run_id, a.object_key, a.sha256, a.ops, ${isoUtc("a.deleted_at")} as archived_at
    from workflow_ops_archives a
    where a.workflow_run_id = CAST($1 AS uuid) and a.tenant_id = CAST($2 AS uuid) and a.deleted_at is not null`,
);
