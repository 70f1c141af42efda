/**
 * `record`: append status changes to the history inside the caller's transaction, so a change
 * and its history row commit or roll back together. Call it from inside `withTx` next to the
 * UPDATE that changes the status; outside a transaction each call commits on its own.
 */
import { safeParse } from "zod/mini";
import { actorName, useActor, useContext, useTenant } from "../context.ts";
import { fieldIssues, ValidationError } from "../errors.ts";
import { query } from "../platform/db/index.ts";
import { HistoryEntry } from "./entry.ts";
import type { HistoryRow } from "./status-history.sql.ts";
import * as sql from "./status-history.sql.ts";

/**
 * Append one change, or many in one statement. Entries are validated (a bad entity type or an
 * over-long status is a programming error and throws a ValidationError before anything is written).
 *
 * @example
 *   await withTx(async () => {
 *     await query("update jobs set status = 'cancelled' where id = $1", [jobId]);
 *     await StatusHistory.record({ entity_type: "job", entity_id: jobId, old_status: "running", new_status: "cancelled" });
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
  const { rows } = await query<HistoryRow>(sql.insertMany, [
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
