/**
 * The recovery tracking API's reads: a tenant's failures filtered (keyset cursor or offset), one
 * failure, the unrecovered ones, and statistics over a window. The tenant is the caller's, or for
 * an admin the one it names (`tenant`).
 */
import { useTenant } from "../context.ts";
import { ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import * as Tenancy from "../tenancy/index.ts";
import { FailureNotFoundError } from "./errors.ts";
import * as sql from "./query.sql.ts";
import type { FailureListQuery, FailureRecord, FailureStats, FailureStatsQuery, UnrecoveredQuery } from "./schema.ts";

const HOUR_MS = 3_600_000;
const sinceOf = (hours: number) => new Date(clock().nowMs() - hours * HOUR_MS);

async function page(
  filters: Omit<sql.ListFilters, "after" | "limit">,
  q: { cursor?: string | undefined; limit: number },
) {
  if (q.cursor !== undefined && filters.offset !== undefined)
    throw new ValidationError("Invalid request: query.offset", [
      { field: "query.offset", message: "use either offset or cursor, not both" },
    ]);
  const key = decodeCursor(q.cursor, [cursorPart.wireTime, cursorPart.uuid]);
  const after = key ? { createdAt: key[0], id: key[1] } : undefined;
  const { text, params } = sql.listSql({ ...filters, after, limit: q.limit + 1 });
  const { rows } = await query<FailureRecord>(text, params);
  return toPage(rows, q.limit, (r) => [r.created_at, r.id]);
}

/** The tenant's failures of the last `since_hours`, newest first. */
export async function list(q: FailureListQuery): Promise<Page<FailureRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  return page(
    {
      tenantId,
      since: sinceOf(q.since_hours),
      runId: q.run_id,
      errorCode: q.error_code,
      category: q.category,
      severity: q.severity,
      status: q.status,
      offset: q.offset,
    },
    q,
  );
}

/** Failures not (yet) recovered: what needs an operator. */
export async function unrecovered(q: UnrecoveredQuery): Promise<Page<FailureRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  return page(
    { tenantId, since: sinceOf(q.since_hours), category: q.category, status: "unrecovered", offset: q.offset },
    q,
  );
}

/** One failure of the tenant; another tenant's is a 404. */
export async function get(id: string, tenant?: string): Promise<FailureRecord> {
  const tenantId = await Tenancy.resolveTenant(tenant);
  const { rows } = await query<FailureRecord>(sql.getOne, [id, tenantId]);
  const row = rows[0];
  if (!row) throw new FailureNotFoundError(id);
  return row;
}

export interface FrequentFailure {
  catalog_entry_id: string | null;
  recovery_mode: string | null;
  count: number;
  /** Share of the task's recorded failures in the window, 0-1. */
  rate: number;
}

/**
 * The current tenant's most frequent failures of `skillId` over the last `days` (the catalogued
 * ones; a miss counts in the total only): what `POST /api/v1/jobs/simulate` lists among its risks.
 */
export async function frequentFailures(skillId: string, days = 7, limit = 3): Promise<FrequentFailure[]> {
  const { rows } = await query<{
    catalog_entry_id: string | null;
    recovery_mode: string | null;
    n: number;
    total: number;
  }>(sql.frequentForSkill, [useTenant(), skillId, sinceOf(days * 24), limit + 1]);
  return rows
    .filter((r) => r.catalog_entry_id !== null)
    .slice(0, limit)
    .map((r) => ({
      catalog_entry_id: r.catalog_entry_id,
      recovery_mode: r.recovery_mode,
      count: r.n,
      rate: Math.round((r.n / r.total) * 1000) / 1000,
    }));
}

const rate = (n: number, total: number) => (total ? Math.round((n / total) * 10_000) / 10_000 : null);

/** Counts by category, severity and entry, hit and miss rates, time to recover per entry. */
export async function stats(q: FailureStatsQuery): Promise<FailureStats> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const { rows } = await query<Omit<FailureStats, "since_hours" | "hit_rate" | "miss_rate">>(sql.stats, [
    tenantId,
    sinceOf(q.since_hours),
  ]);
  const r = rows[0] as Omit<FailureStats, "since_hours" | "hit_rate" | "miss_rate">;
  return { since_hours: q.since_hours, ...r, hit_rate: rate(r.hits, r.total), miss_rate: rate(r.misses, r.total) };
}

export interface RunMatch {
  runId: string;
  catalogEntryId: string | null;
  matchType: string | null;
  matchConfidence: number | null;
  category: string | null;
}

/** The matches recorded for these runs of the tenant (`aos failures generate --validate` reads them back). */
export async function matchesOfRuns(tenantId: string, runIds: readonly string[]): Promise<RunMatch[]> {
  const { rows } = await query<RunMatch>(sql.matchesOfRuns, [tenantId, runIds]);
  return rows;
}
