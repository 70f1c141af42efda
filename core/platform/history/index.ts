/**
 * The history writer, once for every domain: `record` appends status changes to status_history
 * inside the caller's transaction, so a change and its history row commit or roll back together.
 * Call it from inside `withTx` next to the UPDATE that changes the status; outside a transaction
 * each call commits on its own. A platform piece (not the status-history domain's) so that every
 * domain records its changes, tenancy included, which the status-history domain itself depends on
 * (its queries resolve tenants); StatusHistory.record is this same function.
 */
import { safeParse } from "zod/mini";
import { actorName, useActor, useContext, useTenant } from "../../context.ts";
import { fieldIssues, ValidationError } from "../../errors.ts";
import { query } from "../db/index.ts";
import { HistoryEntry } from "./entry.ts";
import { type HistoryRow, insertMany, setActor } from "./history.sql.ts";

/**
 * Append one change, or many in one statement. Entries are validated (a bad entity type or an
 * over-long status is a programming error and throws a ValidationError before anything is written).
 *
 * @example
 *   await withTx(async () => {
 *     await query("update jobs set status = 'cancelled' where id = $1", [jobId]);
 *     await record({ entity_type: "job", entity_id: jobId, old_status: "running", new_status: "cancelled" });
 *   });
 */
export async function record(entries: HistoryEntry | readonly HistoryEntry[]): Promise<HistoryRow[]> {
  const list = (Array.isArray(entries) ? entries : [entries]).map((e, n) => {
    const r = safeParse(HistoryEntry, e);
    if (r.success) return r.data;
    throw new ValidationError("Invalid status history entry", fieldIssues(n, r.error), "status_history.invalid_entry");
  });
  if (list.length === 0) return [];
  const actor = actorName(useActor());
  const correlationId = useContext()?.correlationId ?? null;
  const col = <T>(f: (e: (typeof list)[number]) => T) => list.map(f);
  const { rows } = await query<HistoryRow>(insertMany, [
    col((e) => e.tenant_id ?? useTenant()),
    col((e) => e.entity_type),
    col((e) => e.entity_id),
    col((e) => e.old_status ?? null),
    col((e) => e.new_status),
    col((e) => e.actor ?? actor),
    col((e) => e.reason ?? null),
    col((e) => JSON.stringify(e.metadata ?? {})),
    col(() => correlationId),
  ]);
  return rows;
}

/**
 * Inside `withTx`: name the context's actor and correlation id for the history triggers that
 * fire in this transaction (job items', migration 0018); `record` needs no such call.
 */
export async function actAs(): Promise<void> {
  await query(setActor, [actorName(useActor()), useContext()?.correlationId ?? ""]);
}

export { Actor, EntityId, EntityType, HistoryEntry, Status } from "./entry.ts";
export { actorSetting, type HistoryRow } from "./history.sql.ts";
