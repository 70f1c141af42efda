/**
 * Status history's SQL. Rows come back in the API's wire shape (snake_case).
 *
 * Filters become SQL through `filterSql`, which never inlines a value: each one goes through a
 * placeholder function, a bind parameter (`CAST($3 AS uuid)`) for ordinary queries, or a transaction-local
 * setting read with `current_setting(...)` for COPY, which takes no bind parameters.
 */

import type { HistoryFilters } from "./schema.ts";

export type SqlType = "uuid" | "text" | "timestamptz" | "bigint";
/** Returns the SQL text that stands for `value` (already cast to `type`). */
export type Placeholder = (value: string | number | Date, type: SqlType) => string;

/** Bind parameters: pushes onto `params` and returns `CAST($n AS type)`. */
export function bindParams(params: unknown[]): Placeholder {
  return (value, type) => {
    params.push(value);
    return `CAST($${params.length} AS ${type})`;
  };
}

/**
 * The WHERE conditions of a tenant's rows under `f` (alias `h` for status_history). `maxId`
 * bounds an export to the rows committed when it was asked for.
 */
export function filterSql(tenantId: string, f: HistoryFilters, p: Placeholder, maxId?: number): string {
  const where = [`h.tenant_id = ${p(tenantId, "uuid")}`];
  if (f.entity_type !== undefined) where.push(`h.entity_type = ${p(f.entity_type, "text")}`);
  if (f.entity_id !== undefined) where.push(`h.entity_id = ${p(f.entity_id, "text")}`);
  if (f.new_status !== undefined) where.push(`h.new_status = ${p(f.new_status, "text")}`);
  if (f.actor !== undefined) where.push(`h.actor = ${p(f.actor, "text")}`);
  if (f.since !== undefined) where.push(`h.created_at >= ${p(f.since, "timestamptz")}`);
  if (f.until !== undefined) where.push(`h.created_at < ${p(f.until, "timestamptz")}`);
  if (maxId !== undefined) where.push(`h.id <= ${p(maxId, "bigint")}`);
  return where.join(" and ");
}

export type { HistoryRow } from "../platform/history/index.ts";
