/**
 * The read side of runs: one run (with its ops and workflow_summary), the tenant's runs (newest
 * first, keyset-paginated). A run of another tenant is a 404, never a 403.
 */
import { useTenant } from "../context.ts";
import { query } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, pageWithoutKey, toPage } from "../platform/pagination.ts";
import * as Tenancy from "../tenancy/index.ts";
import { opsOf } from "./audit.ts";
import { RunArchivedError, RunNotFoundError } from "./errors.ts";
import * as ops from "./ops.sql.ts";
import type { RunListQuery, RunRecord } from "./schema.ts";
import * as sql from "./workflows.sql.ts";

const emptySummary = {
  total_ops: 0,
  completed_ops: 0,
  failed_ops: 0,
  first_op_at: null,
  last_op_at: null,
  total_duration_ms: 0,
};

/** A run of `tenantId` (default: the context's), without its ops; RunNotFoundError otherwise. */
export async function getRun(id: string, tenantId = useTenant()): Promise<RunRecord> {
  const { rows } = await query<RunRecord>(sql.getRun, [id, tenantId]);
  if (!rows[0]) throw new RunNotFoundError(id);
  return rows[0];
}

/** A run of the caller's tenant (an admin may name another) with its ops and summary. */
export async function getRunWithOps(id: string, tenant?: string): Promise<RunRecord> {
  const tenantId = await Tenancy.resolveTenant(tenant);
  const run = await getRun(id, tenantId);
  const [list, summary] = await Promise.all([
    opsOf(id, tenantId).catch((e: unknown) => {
      if (e instanceof RunArchivedError) return e;
      throw e;
    }),
    query<RunRecord["summary"]>(ops.summaryOf, [id, tenantId]),
  ]);
  // Ops removed by retention: the run, no ops, and where their copy is.
  if (list instanceof RunArchivedError)
    return { ...run, summary: emptySummary, ops: [], ops_archive: list.details as RunRecord["ops_archive"] };
  return { ...run, summary: summary.rows[0] ?? emptySummary, ops: list };
}

/** The tenant's runs, newest first, filtered by workflow and status. */
export async function listRuns(q: RunListQuery): Promise<Page<RunRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const after = decodeCursor(q.cursor, [cursorPart.wireTime, cursorPart.uuid]);
  const { text, params } = sql.runPageSql({
    tenantId,
    workflow: q.workflow,
    status: q.status,
    after: after ? [after[0], after[1]] : undefined,
    limit: q.limit,
  });
  const { rows } = await query<RunRecord & { page_at: string }>(text, params);
  return pageWithoutKey(toPage(rows, q.limit, (r) => [r.page_at, r.id]));
}
