/**
 * The read side of jobs: one job, the tenant's jobs (newest first) and a job's items (in order),
 * keyset-paginated. The tenant is the caller's, or for an admin the one it names; a job of
 * another tenant is a 404, never a 403, so its existence does not leak.
 */

import * as Credits from "../credits/index.ts";
import { query } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, PG_INT_MAX, toPage } from "../platform/pagination.ts";
import * as Tenancy from "../tenancy/index.ts";
import { JobNotFoundError } from "./errors.ts";
import type { JobRow } from "./lifecycle.sql.ts";
import * as sql from "./lifecycle.sql.ts";
import type { ItemListQuery, ItemRecord, JobListQuery, JobRecord } from "./schema.ts";

type Counts = JobRecord["counts"];

const noItems = (): Counts => ({ pending: 0, claimed: 0, done: 0, failed: 0, cancelled: 0 });

/** Items by state of each job, from one grouped query. */
async function countsOf(jobIds: readonly string[]): Promise<Map<string, Counts>> {
  const out = new Map(jobIds.map((id) => [id, noItems()]));
  if (jobIds.length === 0) return out;
  const { rows } = await query<{ job_id: string; status: keyof Counts; n: number }>(sql.countItems, [jobIds]);
  for (const r of rows) {
    const c = out.get(r.job_id);
    if (c) c[r.status] = r.n;
  }
  return out;
}

/** Rows with their counts and credits (credits from the ledger, through the credits domain). */
async function toRecords(rows: JobRow[]): Promise<JobRecord[]> {
  const ids = rows.map((r) => r.id);
  const [counts, credits] = await Promise.all([
    countsOf(ids),
    // Every row of a page belongs to one tenant (the query is tenant-scoped).
    Credits.jobsCredits(ids, rows[0]?.tenant_id),
  ]);
  return rows.map((r) => ({
    ...r,
    counts: counts.get(r.id) ?? noItems(),
    credits: credits.get(r.id) as JobRecord["credits"],
  }));
}

/** One job of the caller's tenant (an admin may name another with `tenant`). */
export async function get(id: string, tenant?: string): Promise<JobRecord> {
  const tenantId = await Tenancy.resolveTenant(tenant);
  const { rows } = await query<JobRow>(sql.getJob, [id, tenantId]);
  if (!rows[0]) throw new JobNotFoundError(id);
  return (await toRecords(rows))[0] as JobRecord;
}

/** A cursor is `[created_at, id]` of the last job of a page, created_at as wire text (microseconds). */
function jobKey(cursor: string | undefined): [string, string] | [null, null] {
  return decodeCursor(cursor, [cursorPart.wireTime, cursorPart.uuid]) ?? [null, null];
}

/** The tenant's jobs, newest first, filtered by status and task. */
export async function list(q: JobListQuery): Promise<Page<JobRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const [at, id] = jobKey(q.cursor);
  const { rows } = await query<JobRow>(sql.listJobs, [tenantId, q.status ?? null, q.task ?? null, at, id, q.limit + 1]);
  const page = toPage(rows, q.limit, (r) => [r.created_at, r.id]);
  return { data: await toRecords(page.data), next_cursor: page.next_cursor };
}

/** A job's items in order (idx), optionally of one status; 404 when the job is not the tenant's. */
export async function items(jobId: string, q: ItemListQuery): Promise<Page<ItemRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const job = await query(sql.getJob, [jobId, tenantId]);
  if (!job.rows[0]) throw new JobNotFoundError(jobId);
  const after = decodeCursor(q.cursor, [cursorPart.int(0, PG_INT_MAX)])?.[0] ?? -1;
  const { rows } = await query<ItemRecord>(sql.listItems, [jobId, tenantId, q.status ?? null, after, q.limit + 1]);
  return toPage(rows, q.limit, (r) => [r.idx]);
}
