/**
 * Retries with seeded exponential backoff. The jitter of each delay comes from a hash of
 * (run or request id, op index, step, attempt), not from Math.random: the same run waits the
 * same delays every time it runs, so a replay or a test sees the same timing, while different
 * runs still spread out instead of retrying in lockstep.
 *
 * @example
 *   const delays = [1, 2, 3].map((a) => backoffMs({ runId: "run-1", opIndex: 4, step: 0 }, a, policy));
 */
import { createHash } from "node:crypto";
import { type AppError, isAppError } from "../errors.ts";
import * as Failures from "../failures/index.ts";
import { clock } from "../platform/clock.ts";
import { UpstreamError } from "./errors.ts";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  /** A Retry-After above this is not waited for: the error goes back to the caller. */
  retryAfterMaxS: number;
}

export interface RetrySeed {
  /** The run (workflow run, job) or, for a lone call, the request or idempotency key. */
  runId: string;
  /** The operation's index within the run. */
  opIndex: number;
  /** The request's number within the operation (a batch of an embedding call). */
  step: number;
}

/** One wait before a retry: which request, which attempt failed, how long was waited, and why. */
export interface RetryRecord {
  step: number;
  attempt: number;
  delay_ms: number;
  error_code: string;
}

/** A number in [0, 1) drawn from the seed: the first 32 bits of SHA-256 over the seed's parts. */
export function seededUnit(seed: RetrySeed, attempt: number): number {
  const h = createHash("sha256").update(`${seed.runId}\u0000${seed.opIndex}\u0000${seed.step}\u0000${attempt}`);
  return h.digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The wait after failed attempt `attempt` (1-based): base * 2^(attempt-1), capped at maxMs, with
 * "equal jitter" (half fixed, half seeded), so it lies in [d/2, d).
 */
export function backoffMs(seed: RetrySeed, attempt: number, policy: RetryPolicy): number {
  const d = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(d / 2 + (d / 2) * seededUnit(seed, attempt));
}

export const isRetryable = (e: unknown): e is AppError => isAppError(e) && e.retryable;

/**
 * Run `fn` until it succeeds, fails for good, or runs out of attempts or time. Whether a failure
 * is retried, how many attempts and which backoff come from its failure catalog entry
 * (`Failures.retryDecision`; the error's own `retryable` and the policy when no entry matches, then
 * one retry at most). A 429/503 with Retry-After waits what the server asked (unless above the
 * policy's limit); any other retried failure waits `backoffMs`. `onRetry` hears of each wait
 * before it starts.
 */
export async function withRetries<T>(
  seed: RetrySeed,
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  options: { signal?: AbortSignal; deadlineMs?: number; onRetry?: (r: RetryRecord) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (options.signal?.aborted) throw e;
      const d = await Failures.retryDecision(e, { retryable: isRetryable(e), maxAttempts: policy.maxAttempts });
      if (!d.retryable || attempt >= d.maxAttempts) throw e;
      const asked = e instanceof UpstreamError ? e.retryAfterMs : undefined;
      if (asked !== undefined && asked > policy.retryAfterMaxS * 1000) throw e;
      const schedule = d.backoff ? { ...policy, baseMs: d.backoff.baseMs, maxMs: d.backoff.maxMs } : policy;
      const delay = asked ?? backoffMs(seed, attempt, schedule);
      // No point waiting past the deadline only to be cut off: the caller gets the real error.
      if (options.deadlineMs !== undefined && clock().nowMs() + delay >= options.deadlineMs) throw e;
      const code = isAppError(e) ? e.code : "unknown";
      options.onRetry?.({ step: seed.step, attempt, delay_ms: delay, error_code: code });
      await clock().sleep(delay, options.signal);
    }
  }
}
