/**
 * Status history rows for tests: `recordHistory(tenantId, [...])` appends through
 * `StatusHistory.record` as the system actor `system:test` (one statement, so the rows share a
 * created_at, as changes recorded in one transaction do); `change()` builds an entry.
 * `insertHistoryAt` writes rows stamped in the past, which `record` (always `now()`) cannot.
 */
import { randomBytes } from "node:crypto";
import { withContext } from "../../core/context.ts";
import { query } from "../../core/platform/db/index.ts";
import type { HistoryEntry, HistoryRow } from "../../core/status-history/index.ts";
import * as StatusHistory from "../../core/status-history/index.ts";

export const asSystem = <T>(fn: () => Promise<T>, correlationId = "factory") =>
  withContext({ requestId: "factory", correlationId, actor: { type: "system", name: "test" } }, fn);

/** One status change of a fresh `job` entity (pending -> running) unless told otherwise. */
export function change(over: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    entity_type: "job",
    entity_id: `job-${randomBytes(4).toString("hex")}`,
    old_status: "pending",
    new_status: "running",
    ...over,
  };
}

/** Append `entries` (or `n` default changes) for the tenant in one statement. */
export async function recordHistory(tenantId: string, entries: HistoryEntry[] | number): Promise<HistoryRow[]> {
  const list = typeof entries === "number" ? Array.from({ length: entries }, () => change()) : entries;
  return asSystem(() => StatusHistory.record(list.map((e) => ({ ...e, tenant_id: tenantId }))));
}

/** Insert rows with a given created_at (a past window for since/until and hourly stats). */
export async function insertHistoryAt(
  tenantId: string,
  rows: (HistoryEntry & { created_at: string })[],
): Promise<number[]> {
  const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
  const res = await query<{ id: number }>(
    `insert into status_history (tenant_id, entity_type, entity_id, old_status, new_status, actor, created_at)
     select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
     returning id`,
    [
      tenantId,
      col((r) => r.entity_type),
      col((r) => r.entity_id),
      col((r) => r.old_status ?? null),
      col((r) => r.new_status),
      col((r) => r.actor ?? "system:test"),
      col((r) => r.created_at),
    ],
  );
  return res.rows.map((r) => r.id);
}
