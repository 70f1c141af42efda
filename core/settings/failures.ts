/** Settings of the failure catalog (core/failures): matching and non-blocking persistence. */
import { declareSettings, int, num } from "./declare.ts";

// biome-ignore format: one line per setting
export const failures = declareSettings("failures", {
  failures: {
    matchMinConfidence: num("FAILURE_MATCH_MIN_CONFIDENCE", 0.6, "a catalog match below this confidence is recorded as a miss (uncatalogued), never as a guess", { min: 0, max: 1 }),
    persistTimeoutMs: int("FAILURE_PERSIST_TIMEOUT_MS", 2_000, "the most recording a failure adds to the failing call; what is not written by then goes to the FailureRecords queue", { min: 50 }),
    breakerThreshold: int("FAILURE_PERSIST_BREAKER_THRESHOLD", 5, "consecutive failed writes of failure records that open the failure_persistence breaker (records then go straight to the queue)", { min: 1 }),
    retentionDays: int("FAILURE_RETENTION_DAYS", 90, "days failure records are kept; the daily FailureRetention cron deletes older ones in batches", { min: 1 }),
    aggregationTopUnmatched: int("FAILURE_AGGREGATION_TOP_UNMATCHED", 20, "normalised messages of unmatched failures the daily FailureAggregation object lists per tenant, most frequent first", { min: 1, max: 1000 }),
    breakerCooldownS: int("FAILURE_PERSIST_BREAKER_COOLDOWN_S", 60, "seconds the failure_persistence breaker stays open before one probe write", { min: 1 }),
  },
});
