/**
 * The catalog decides retries: a failure's entry says whether it is retryable (with the caller's
 * own classification as input: an entry can refuse a retry, not force one the error refuses) and
 * may carry its own backoff (baseMs, maxMs, attempts). A failure no entry matches (a miss) keeps the caller's own
 * classification but is retried once at most (today's conservative behaviour for unknown errors),
 * and is counted (`aos_failure_retry_misses_total`).
 *
 * @example
 *   const d = await retryDecision(e, { retryable: isRetryable(e), maxAttempts: policy.maxAttempts });
 *   if (!d.retryable || attempt >= d.maxAttempts) throw e;
 */
import { classify } from "./classify.ts";
import type { Backoff, MatchType } from "./entry.ts";
import { failureMetrics as m } from "./metrics.ts";

export interface RetryDecision {
  retryable: boolean;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The entry's own schedule, when it has one. */
  backoff?: Backoff;
  catalog_entry_id: string | null;
  match_type: MatchType;
}

/** What the caller would decide alone: its error's own `retryable` and its attempts. */
export interface RetryFallback {
  retryable: boolean;
  maxAttempts: number;
}

/** Attempts of a failure the catalog does not know: the first and one retry. */
export const MISS_MAX_ATTEMPTS = 2;

export async function retryDecision(error: unknown, fallback: RetryFallback): Promise<RetryDecision> {
  const match = await classify(error);
  const e = match.entry;
  if (!e) {
    m.retryMisses.inc();
    return {
      retryable: fallback.retryable,
      maxAttempts: Math.min(fallback.maxAttempts, MISS_MAX_ATTEMPTS),
      catalog_entry_id: null,
      match_type: match.match_type,
    };
  }
  // The entry may veto a retry the caller would make (a TLS or DNS failure), never force one the
  // caller's own classification refuses.
  return {
    retryable: e.is_retryable && fallback.retryable,
    maxAttempts: e.backoff?.maxAttempts ?? fallback.maxAttempts,
    ...(e.backoff ? { backoff: e.backoff } : {}),
    catalog_entry_id: e.id,
    match_type: match.match_type,
  };
}

/**
 * The wait before the next attempt under an entry's backoff, after failed attempt `attempt`
 * (1-based): base * 2^(attempt-1), capped at the entry's max, in whole seconds, as a queue holds a
 * message back (SQS: by the second, 900 at most). Job items and workflow steps retry this way.
 *
 * @example
 *   const d = await retryDecision(e, fallback);
 *   if (d.retryable && d.backoff) enqueueAfterCommit(outbox, rows, { delayS: retryDelayS(d.backoff, attempt) });
 */
export function retryDelayS(backoff: Backoff, attempt: number): number {
  const ms = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(900, Math.max(1, Math.ceil(ms / 1000)));
}
