/**
 * The export outbox (core/platform/outbox/ over status_history_exports): an export's message
 * goes out after the commit of its row; the exports' sweeper (export-sweep.ts) re-sends the
 * message of an export nobody picked up, or whose worker died.
 */
import { defineOutbox, redriveOutbox, type SweepOutboxResult } from "../platform/outbox/index.ts";
import { exportOutboxTable } from "./exports.sql.ts";
import type { ExportMessage } from "./schema.ts";

export const EXPORT_QUEUE = "StatusHistoryExports";

export const exportOutbox = defineOutbox<{ id: string; tenant_id: string }>({
  name: "status_history_exports",
  queue: EXPORT_QUEUE,
  ...exportOutboxTable,
  message: (e): ExportMessage => ({ v: 1, tenantId: e.tenant_id, exportId: e.id }),
  unsentGraceS: 60,
  batch: 500,
  maxBatches: 20,
});

/**
 * After the queue lost every message (the local runtime's in-memory queue after a restart): the
 * message of every pending export again, however recently its last one was sent.
 */
export function redriveExports(): Promise<SweepOutboxResult> {
  return redriveOutbox(exportOutbox);
}
