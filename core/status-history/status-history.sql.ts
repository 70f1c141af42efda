/**
 * Status history's SQL. Rows come back in the API's wire shape (snake_case).
 *
 * Filters become SQL through `filterSql`, which never inlines a value: each one goes through a
 * placeholder function, a bind parameter (`CAST($3 AS uuid)`) for ordinary queries, or a transaction-local
 * setting read with `current_setting(...)` for COPY, which takes no bind parameters.
 */

import { statement } from "../platform/db/statement.ts";
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

const historyColumns = `id, tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata,
  correlation_id, created_at`;
/** One row per element of the arrays: a whole batch of changes in one round trip. */
export const insertMany = /* @__PURE__ */ statement(
  () => `insert into status_history
      (tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata, correlation_id)
    select * from unnest(CAST($1 AS uuid[]), CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS text[]), CAST($6 AS text[]), CAST($7 AS text[]),
      CAST($8 AS jsonb[]), CAST($9 AS text[]))
    returning ${historyColumns}`,
);

export interface HistoryRow {
  id: number;
  tenant_id: string;
  entity_type: string;
  entity_id: string;
  old_status: string | null;
  new_status: string;
  actor: string;
  reason: string | null;
  metadata: Record<string, unknown>;
  correlation_id: string | null;
  created_at: Date;
}
