/**
 * Status history's queries: a tenant's rows filtered and keyset-paginated, one entity's history,
 * and counts over a window. The tenant is the caller's, or for an admin the one it names.
 */

import { ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, invalidCursor, type Page, toPage } from "../platform/pagination.ts";
import * as Tenancy from "../tenancy/index.ts";
import { type Order, type PageKey, pageSql, statsSql } from "./query.sql.ts";
import type { EntityQuery, HistoryFilters, HistoryListQuery, HistoryRecord, StatsQuery, StatsReply } from "./schema.ts";
import { bindParams, filterSql } from "./status-history.sql.ts";

const HOUR_MS = 3_600_000;
/** The longest stats window: 31 days of hourly buckets (744). */
export const MAX_STATS_WINDOW_MS = 31 * 24 * HOUR_MS;

/** A cursor is `[order, created_at, id]` of the last row of a page: it only continues a listing in that order. */
function afterKey(cursor: string | undefined, order: Order): PageKey | undefined {
  const key = decodeCursor(cursor, [cursorPart.oneOf("asc", "desc"), cursorPart.wireTime, cursorPart.int(1)]);
  if (!key) return undefined;
  const [dir, createdAt, id] = key;
  if (dir !== order) throw invalidCursor(`this cursor continues a listing in ${dir} order, not ${order}`);
  return { createdAt, id };
}

async function fetchPage(
  tenantId: string,
  filters: HistoryFilters,
  order: Order,
  page: { cursor?: string | undefined; limit: number },
): Promise<Page<HistoryRecord>> {
  const after = afterKey(page.cursor, order);
  const params: unknown[] = [];
  const p = bindParams(params);
  const text = pageSql(filterSql(tenantId, filters, p), order, p, after, page.limit + 1);
  const { rows } = await query<HistoryRecord>(text, params);
  return toPage(rows, page.limit, (r) => [order, r.created_at, r.id]);
}

/** The tenant's status changes matching the filters, newest first unless `order=asc`. */
export async function list(q: HistoryListQuery): Promise<Page<HistoryRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const { limit, cursor, order, tenant: _t, ...filters } = q;
  return fetchPage(tenantId, filters, order, { cursor, limit });
}

/** One entity's status changes, oldest first; an entity without history has an empty page. */
export async function entityHistory(type: string, id: string, q: EntityQuery): Promise<Page<HistoryRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  return fetchPage(tenantId, { entity_type: type, entity_id: id }, "asc", q);
}

/**
 * Counts over [since, until) (default: the 24 hours up to now) by entity type, by new status,
 * by both, and per hour from the hour `since` falls in, empty hours included.
 */
export async function stats(q: StatsQuery): Promise<StatsReply> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const until = q.until ?? clock().now();
  const since = q.since ?? new Date(until.getTime() - 24 * HOUR_MS);
  if (since >= until)
    throw new ValidationError("Invalid stats window", [
      { field: "query.since", message: "since must be before until" },
    ]);
  if (until.getTime() - since.getTime() > MAX_STATS_WINDOW_MS)
    throw new ValidationError("Invalid stats window", [
      { field: "query.since", message: "the window from since to until may span at most 31 days" },
    ]);
  const params: unknown[] = [];
  const p = bindParams(params);
  const where = filterSql(tenantId, { entity_type: q.entity_type, since, until }, p);
  const { rows } = await query<StatsReply>(statsSql(where, p, tenantId, since, until), params);
  return rows[0] as StatsReply;
}
