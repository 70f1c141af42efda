/** The one INSERT into status_history (the table refuses UPDATE, DELETE and TRUNCATE: migrations/0003). */
import { statement } from "../db/statement.ts";

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

/** A status_history row in the API's wire shape (snake_case). */
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

/**
 * A FROM item that names the actor a history trigger records (job items', migration 0018) for the
 * statement's own transaction: `param` is the placeholder of the actor's name (`key:<id>`). For a
 * statement that runs on its own; inside `withTx`, `actAs` does it for the whole transaction.
 * Without either, a trigger records `system:<domain>`.
 */
export const actorSetting = (param: string) =>
  `(select set_config('aos.actor', CAST(${param} AS text), true)) as aos_actor`;

export const setActor = `select set_config('aos.actor', $1, true), set_config('aos.correlation_id', $2, true)`;
