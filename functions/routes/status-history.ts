/** Status history (core/status-history): queries, exports to S3, their queue and sweeper. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const statusHistory: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("status_history", [
    ["GET /api/v1/status_history", "list", "viewer", "Status changes of the tenant's entities, filtered, newest first (keyset pagination)"],
    ["GET /api/v1/status_history/entity/{type}/{id}", "entity", "viewer", "One entity's whole status history, oldest first"],
    ["GET /api/v1/status_history/stats", "stats", "viewer", "Counts by entity type and new status, and per hour, over a window"],
    ["POST /api/v1/status_history/export", "export-create", "operator", "Export status history to CSV or JSONL in S3; runs in the background (202)", { links: ["StatusHistoryExportsQueue"] }],
    ["GET /api/v1/status_history/exports/{id}", "export-get", "viewer", "An export's status, row count, size, SHA-256 and expiry"],
    ["GET /api/v1/status_history/download/{id}", "download", "viewer", "302 to a presigned S3 URL of a ready export (410 once it expired)", { links: ["Exports"] }],
  ]),
  queues: [
    {
      // One export per batch: an export streams for minutes and owns the function's memory.
      name: "StatusHistoryExports",
      handler: "functions/queue/status-history-export.handler",
      batchSize: 1,
      batchWindowS: 0,
      visibilityTimeoutS: 960,
      // Above EXPORT_MAX_ATTEMPTS: a delivery that finds the export leased elsewhere uses a receive
      // without using an attempt, and the worker itself marks an export failed after its last one.
      maxReceiveCount: 10,
      timeoutS: 900,
      memoryMb: 1769,
      links: ["Exports", "FailureRecordsQueue"],
    },
  ],
  schedules: [
    {
      // Deletes the objects of exports past their TTL and marks them expired; re-sends exports
      // whose queue message was lost (the row is the truth, the message only a wake-up call).
      name: "StatusHistoryExportSweep",
      schedule: "rate(5 minutes)",
      handler: "functions/cron/status-history-export-sweep.handler",
      timeoutS: 120,
      links: ["Exports", "StatusHistoryExportsQueue"],
    },
  ],
};
