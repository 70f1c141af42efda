/**
 * The failure catalog: every failure AOS meets is matched to a known entry (with a confidence and
 * an explanation) or recorded as a miss, persisted without ever blocking the failing path, and
 * its recovery tracked.
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as Failures from ".../core/failures/index.ts"`, then `Failures.record(...)`).
 */

import { aggregateDay, aggregateKeyOf } from "./aggregate.ts";
import { backfill } from "./backfill.ts";
import { catalogReply, classify, classifyFields, classifyRequest, listCatalog } from "./classify.ts";
import { frequentFailures, get, list, matchesOfRuns, stats, unrecovered } from "./query.ts";
import { record, recordInBackground } from "./record.ts";
import { markRecorded, wasRecorded } from "./recorded.ts";
import { updateRecovery } from "./recovery.ts";
import { deleteExpired } from "./retention.ts";
import { retryDecision } from "./retry-decision.ts";
import { failureShares } from "./shares.ts";
import { jobItemError, queueFailureError } from "./sources.ts";
import { writeQueued } from "./write-queued.ts";

export type { AggregatedTenant, AggregationResult } from "./aggregate.ts";
export type { BackfillOptions, BackfillReport, BackfillSource } from "./backfill.ts";
export type {
  Backoff,
  CatalogEntry,
  FailureCategory,
  MatchType,
  RecoveryMode,
  Severity,
} from "./entry.ts";
export { FAILURE_CATEGORIES, MATCH_TYPES, RECOVERY_MODES, SEVERITIES } from "./entry.ts";
export * from "./errors.ts";
export type { MatchResult } from "./match.ts";
export type { FrequentFailure, RunMatch } from "./query.ts";
export { FAILURE_RECORDS_QUEUE, type Recorded, type RecordInput, type RecordOutcome } from "./record.ts";
export { MISS_MAX_ATTEMPTS, type RetryDecision, type RetryFallback, retryDelayS } from "./retry-decision.ts";
export * from "./schema.ts";
export type { FailureShare } from "./shares.ts";
export type { SignalFields } from "./signal.ts";
export {
  /**
   * The daily aggregation: one UTC day's per-tenant counts (per entry, category, severity) and top
   * unmatched messages written to S3 as JSONL (gzip), recorded in failure_aggregates; a rerun
   * recounts and rewrites the same keys.
   */
  aggregateDay,
  /** The S3 key of a tenant's aggregate of a day. */
  aggregateKeyOf,
  /**
   * Historical failures (failed job items, queue_failures rows) matched and written to
   * failure_matches under ids derived from their source rows: a second run adds nothing.
   */
  backfill,
  /** `GET /api/v1/failures/catalog`: every entry. */
  catalogReply,
  /** Match anything thrown against the catalog, without recording it. */
  classify,
  /** Match described fields (code, kind, status, target, body, message, causes), without recording. */
  classifyFields,
  /** `POST /api/v1/failures/classify`: match described fields without recording; the entry in full. */
  classifyRequest,
  /** Retention: delete records older than FAILURE_RETENTION_DAYS, in batches (the daily cron). */
  deleteExpired,
  /** The tenant's failure shares per skill and catalog entry (cost simulation's V2 history). */
  failureShares,
  /** The tenant's most frequent catalogued failures of a skill over the last days (simulate's risks). */
  frequentFailures,
  /** One failure of the tenant (an admin may name the tenant); another tenant's is a 404. */
  get,
  /** A job item's reported error (its `error` jsonb) as the error the matcher reads. */
  jobItemError,
  /** The tenant's failures of the last `since_hours`, filtered, newest first (cursor or offset pages). */
  list,
  /** The catalog's entries (loaded on first use). */
  listCatalog,
  /** Mark an error as in the catalog already (a replay of a failure recorded when it happened). */
  markRecorded,
  /** The matches recorded for given runs of a tenant (the synthetic generator reads back what it provoked). */
  matchesOfRuns,
  /** A queue record's permanent failure as the error the matcher reads. */
  queueFailureError,
  /**
   * Record a failure where it happens: classified, written to failure_matches or queued. Never
   * throws; adds at most FAILURE_PERSIST_TIMEOUT_MS to the caller.
   */
  record,
  /**
   * `record` without waiting, for a failing path: the write goes on beside the caller and is
   * finished before the invocation ends (the handler kits await settleBackground()).
   */
  recordInBackground,
  /**
   * Whether and how to retry a failure: the matched entry's is_retryable and backoff; a miss keeps
   * the caller's classification with one retry at most (counted).
   */
  retryDecision,
  /** Counts by category, severity and entry; hit and miss rates; time to recover per entry. */
  stats,
  /** Failures not (yet) recovered. */
  unrecovered,
  /** Record a recovery attempt or success (recovered_by/at from the caller), in status_history too. */
  updateRecovery,
  /** Whether this error object was recorded (or marked as recorded): a layer above does not record it again. */
  wasRecorded,
  /** The FailureRecords queue's consumer: write a queued record (idempotent by its id). */
  writeQueued,
};
