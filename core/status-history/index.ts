/**
 * Status history: the append-only audit trail of every status change of every AOS entity
 * (jobs, items, workflow runs, invokes, breakers, recoveries, exports, keys, tenants), its
 * queries, and its exports to S3 behind presigned URLs.
 *
 * The table refuses UPDATE, DELETE and TRUNCATE (triggers of migrations/0003); `record` appends
 * inside the caller's transaction.
 */

import { sweepExports } from "./export-sweep.ts";
import { runExport } from "./export-worker.ts";
import { createExport, downloadUrl, getExport } from "./exports.ts";
import { entityHistory, list, stats } from "./query.ts";
import { record } from "./record.ts";

export const StatusHistory = {
  record,
  list,
  entityHistory,
  stats,
  createExport,
  getExport,
  downloadUrl,
  runExport,
  sweepExports,
};

// Until jobs/spawn.ts and jobs/items.ts (being rewritten on another branch) import it from core/context.ts.
export { actorName } from "../context.ts";
export * from "./errors.ts";
export * from "./schema.ts";
export type { HistoryRow } from "./status-history.sql.ts";
