/**
 * The failure catalog (core/failures): the catalog, classification, the recovery tracking API, and
 * the queue of failure records Postgres did not take in time.
 */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const failures: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("failures", [
    ["GET /api/v1/failures/catalog", "catalog", "viewer", "The failure catalog: every known failure with its category, severity, retry and recovery, and how it is matched"],
    ["POST /api/v1/failures/classify", "classify", "operator", "Classify a described error against the catalog without recording it (entry, match type, confidence, explanation)"],
    ["GET /api/v1/failures", "list", "viewer", "The tenant's recorded failures of the last since_hours, filtered, newest first (cursor or offset pages)"],
    ["GET /api/v1/failures/stats", "stats", "viewer", "Failures by category, severity and entry; hit and miss rates; time to recover per entry"],
    ["GET /api/v1/failures/unrecovered", "unrecovered", "viewer", "Failures not yet recovered, newest first"],
    ["GET /api/v1/failures/{id}", "get", "viewer", "One recorded failure with its match and recovery"],
    ["PATCH /api/v1/failures/{id}/recovery", "recovery", "operator", "Record a recovery attempt or success (recovered_by and recovered_at from the caller; kept in status history)"],
  ]),
  queues: [
    {
      // A record is one INSERT; a database still away is retried, then dead-lettered.
      name: "FailureRecords",
      handler: "functions/queue/failure-records.handler",
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 60,
      maxReceiveCount: 20,
      timeoutS: 30,
      links: ["FailureRecordsQueue"],
    },
  ],
  schedules: [
    {
      // Yesterday's (UTC) counts per tenant, entry, category and severity and the top unmatched
      // messages, to S3 as JSONL (gzip) under failures/aggregates/day=.../tenant=....jsonl.gz.
      name: "FailureAggregation",
      schedule: "cron(41 0 * * ? *)",
      handler: "functions/cron/failure-aggregation.handler",
      timeoutS: 300,
      links: ["Exports"],
    },
    {
      // Deletes failure records older than FAILURE_RETENTION_DAYS, in batches of 5,000.
      name: "FailureRetention",
      schedule: "cron(17 3 * * ? *)",
      handler: "functions/cron/failure-retention.handler",
      timeoutS: 300,
    },
  ],
};
