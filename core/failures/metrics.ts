/**
 * The failure catalog's metrics: the seed's names (PIN-048) for matches, recoveries and drops,
 * `aos_failure_*` for the rest. Labels are the catalog's fixed vocabularies.
 */
import { counter, gauge } from "../platform/metrics/index.ts";
import { FAILURE_CATEGORIES } from "./entry.ts";

const categories = [...FAILURE_CATEGORIES];

export const failureMetrics = {
  // `entry` is a catalog id (code-fixed, about 60): what a surge of one entry is seen by.
  hits: counter(
    "failure_match_hits_total",
    "Failures recorded that matched a catalog entry",
    ["category", "entry", "match_type"],
    {
      allow: { category: categories, match_type: ["exact_code", "kind_cause", "message_pattern", "similarity"] },
    },
  ),
  misses: counter("failure_match_misses_total", "Failures recorded that matched no catalog entry (uncatalogued)", []),
  dropped: counter(
    "failure_persist_dropped_total",
    "Failure records lost: neither written to Postgres in time nor accepted by the FailureRecords queue",
    ["reason"],
    { allow: { reason: ["queue_failed", "queue_timeout", "invalid"] } },
  ),
  recoverySuccess: counter(
    "recovery_success_total",
    "Failures marked recovered (PATCH /api/v1/failures/{id}/recovery)",
    [],
  ),
  recoveryFailure: counter(
    "recovery_failure_total",
    "Recovery attempts reported as not (yet) successful (PATCH /api/v1/failures/{id}/recovery)",
    [],
  ),
  retryMisses: counter(
    "aos_failure_retry_misses_total",
    "Retry decisions for a failure no catalog entry matched (retried once at most)",
    [],
  ),
  deferred: counter(
    "aos_failure_persist_deferred_total",
    "Failure records sent to the FailureRecords queue because Postgres did not take them in time (or the breaker is open)",
    ["reason"],
    { allow: { reason: ["timeout", "breaker_open", "db_error"] } },
  ),
  aggregationRuns: counter(
    "aos_failure_aggregation_runs_total",
    "Runs of the daily failure aggregation (FailureAggregation cron) by outcome",
    ["outcome"],
    { allow: { outcome: ["ok", "error"] } },
  ),
  aggregationRows: counter(
    "aos_failure_aggregation_rows_total",
    "JSONL rows the failure aggregation wrote to S3 (summary, entry, category, severity and unmatched lines)",
    [],
  ),
  aggregationObjects: counter(
    "aos_failure_aggregation_objects_total",
    "Per-tenant daily aggregate objects written: new, changed on a rerun, or rewritten unchanged",
    ["change"],
    { allow: { change: ["new", "changed", "unchanged"] } },
  ),
  aggregationLastSuccess: gauge(
    "aos_failure_aggregation_last_success_timestamp_seconds",
    "When the failure aggregation last finished for every tenant (Unix seconds)",
    [],
  ),
};
