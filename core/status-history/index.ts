/**
 * Status history: the append-only audit trail of every status change of every AOS entity
 * (jobs, items, workflow runs, invokes, breakers, recoveries, exports, keys, tenants), its
 * queries, and its exports to S3 behind presigned URLs.
 *
 * The table refuses UPDATE, DELETE and TRUNCATE (triggers of migrations/0003); `record` appends
 * inside the caller's transaction.
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as StatusHistory from ".../core/status-history/index.ts"`): esbuild keeps only the
 * functions a handler calls, so a handler that only records history does not carry the exports'
 * S3 code.
 */

import { record } from "../platform/history/index.ts";
import { redriveExports } from "./export-outbox.ts";
import { sweepExports } from "./export-sweep.ts";
import { runExport } from "./export-worker.ts";
import { createExport, downloadUrl, getExport } from "./exports.ts";
import { entityHistory, list, stats } from "./query.ts";

export type { HistoryRow } from "../platform/history/index.ts";
export * from "./errors.ts";
export * from "./schema.ts";
export {
  /** Ask for an export (CSV or JSONL to S3); its message goes out after commit, the sweeper re-sends a lost one. */
  createExport,
  /** A presigned GET URL of a ready export: 410 once expired, 409 while not ready. */
  downloadUrl,
  /** One entity's status changes, oldest first; an entity without history has an empty page. */
  entityHistory,
  /** An export of the caller's tenant (or, for an admin, the tenant named); another tenant's is not found. */
  getExport,
  /** The tenant's status changes matching the filters, newest first unless `order=asc`. */
  list,
  /** Append status changes inside the caller's transaction (one row each); they commit or roll back with it. */
  record,
  /** After the queue lost every message (a local restart): every pending export's message again. */
  redriveExports,
  /** The StatusHistoryExports consumer: claim the export, stream it to S3, mark it ready (any delivery may repeat). */
  runExport,
  /** Counts over [since, until) by entity type, by new status, by both, and per hour. */
  stats,
  /** The StatusHistoryExportSweep cron: delete expired exports' objects, re-send exports whose message was lost. */
  sweepExports,
};
