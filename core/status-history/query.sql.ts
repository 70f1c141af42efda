/**
 * The SQL of status history's queries: listing, one entity's history, stats. Filters come from
 * `filterSql` (status-history.sql.ts); every value goes through a `Placeholder`.
 *
 * Timestamps leave Postgres as text in one format, UTC ISO 8601 with six fractional digits:
 * `created_at` keeps its microseconds (a JS Date would drop them), so a keyset cursor built from
 * it finds its place exactly even among rows recorded in one transaction.
 */
import { isoUtc } from "../platform/db/index.ts";
import type { Placeholder } from "./status-history.sql.ts";

/** SQL: `h.created_at` in the wire format; listings, cursors and exports share it. */
export const createdAtIso = isoUtc("h.created_at");

/** A status history row in its wire shape (HistoryRecord), alias `h`. */
export const wireColumns = `h.id, h.tenant_id, h.entity_type, h.entity_id, h.old_status, h.new_status, h.actor,
  h.reason, h.metadata, h.correlation_id, ${createdAtIso} as created_at`;

export type Order = "asc" | "desc";

/** Where the previous page stopped: the wire `created_at` and id of its last row. */
export interface PageKey {
  createdAt: string;
  id: number;
}

/**
 * One page of rows matching `where` in (created_at, id) order, after `after`. The row comparison
 * walks the (tenant_id, created_at, id) and (tenant_id, entity_type, entity_id, created_at, id)
 * indexes; `limit` is the page size plus one (toPage trims it).
 */
export function pageSql(
  where: string,
  order: Order,
  p: Placeholder,
  after: PageKey | undefined,
  limit: number,
): string {
  const conds = [where];
  if (after) {
    const cmp = order === "asc" ? ">" : "<";
    conds.push(`(h.created_at, h.id) ${cmp} (${p(after.createdAt, "timestamptz")}, ${p(after.id, "bigint")})`);
  }
  return `select ${wireColumns} from status_history h
    where ${conds.join(" and ")}
    order by h.created_at ${order}, h.id ${order}
    limit ${p(limit, "bigint")}`;
}

/**
 * Stats of the rows matching `where` (which bounds created_at to [since, until)) in one statement
 * and one scan: rows are first counted per (entity_type, new_status, hour), the rollups and the
 * hourly series (empty hours included) are built from those counts. Returns one row: the reply.
 * Lists are sorted by count descending, then by name, so equal counts come out in a fixed order.
 */
export function statsSql(where: string, p: Placeholder, tenantId: string, since: Date, until: Date): string {
  const s = p(since, "timestamptz");
  const u = p(until, "timestamptz");
  const item = (keys: string[]) => `json_build_object(${keys.map((k) => `'${k}', ${k}`).join(", ")}, 'count', count)`;
  const agg = (keys: string[]) =>
    `(select coalesce(json_agg(${item(keys)} order by count desc, ${keys.join(", ")}), '[]')
      from (select ${keys.join(", ")}, CAST(sum(count) AS bigint) as count from pairs group by ${keys.join(", ")}) x)`;
  return `with base as (
      select h.entity_type, h.new_status,
        date_trunc('hour', h.created_at at time zone 'UTC') at time zone 'UTC' as hour, count(*) as count
      from status_history h where ${where}
      group by 1, 2, 3
    ),
    pairs as (select entity_type, new_status, CAST(sum(count) AS bigint) as count from base group by 1, 2),
    hours as (
      select g.hour, CAST(coalesce(sum(b.count), 0) AS bigint) as count
      from generate_series(date_trunc('hour', ${s} at time zone 'UTC') at time zone 'UTC', ${u}, interval '1 hour')
        as g(hour)
      left join base b on b.hour = g.hour
      where g.hour < ${u}
      group by g.hour
    )
    select ${p(tenantId, "uuid")} as tenant_id, ${isoUtc(s)} as since, ${isoUtc(u)} as until,
      (select CAST(coalesce(sum(count), 0) AS bigint) from pairs) as total,
      ${agg(["entity_type"])} as by_entity_type,
      ${agg(["new_status"])} as by_new_status,
      ${agg(["entity_type", "new_status"])} as by_entity_type_and_status,
      (select coalesce(json_agg(json_build_object('hour', ${isoUtc("hour")}, 'count', count) order by hour), '[]')
        from hours) as hourly`;
}
