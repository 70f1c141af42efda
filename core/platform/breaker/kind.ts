/**
 * What a kind of breaker declares: its name, its thresholds, its metrics, what a refusal throws
 * and where its transitions are recorded.
 */
import { type AppError, UnavailableError } from "../../errors.ts";
import type { BreakerRow } from "./breaker.sql.ts";
import type { BreakerMetrics } from "./metrics.ts";
import type { BreakerState } from "./states.ts";

/** A breaker's identity within its kind: its target, and the tenant for a tenant's own target (null: shared). */
export interface BreakerKey {
  tenantId: string | null;
  target: string;
}

/** When a breaker opens and how it recovers. Read at every call, so a changed setting applies at once. */
export interface BreakerPolicy {
  /** Failures that open the breaker. */
  failureThreshold: number;
  /**
   * Unset: `failureThreshold` consecutive failures open it, and a success forgets them. Set:
   * `failureThreshold` failures within the last `failureWindowS` seconds open it, successes or not.
   */
  failureWindowS?: number;
  /** How long an OPEN breaker refuses before it lets one probe call through (HALF_OPEN). */
  cooldownS: number;
  /** How long the probe's permit lasts: longer than the longest call, so a live probe is never overtaken. */
  probeLeaseMs: number;
}

/** A change of state, handed to the kind in the transaction that makes it. */
export interface Transition {
  row: BreakerRow;
  from: BreakerState | null;
  reason: string;
  /** More to keep with the record (e.g. the failure count a reset forgot). */
  metadata?: Record<string, unknown>;
}

export interface BreakerKind {
  /** `skill`, `failure_persistence`, ...: lower-case, the `kind` column and the `breaker` label. */
  kind: string;
  policy: () => BreakerPolicy;
  /** Default: the `aos_breaker_*` families labelled `breaker` and `target`. */
  metrics?: BreakerMetrics;
  /** The error a refused call throws. Default: BreakerOpenError (503 `breaker.open`). */
  openError?: (key: BreakerKey, retryAfterS: number) => AppError;
  /**
   * Record a transition (status_history, usually). Runs in the transaction of the change: if it
   * throws, the change is rolled back.
   */
  onTransition?: (t: Transition) => Promise<void>;
}

export class BreakerOpenError extends UnavailableError {
  override name = "BreakerOpenError";
  constructor(kind: string, target: string, retryAfterS: number) {
    super("breaker.open", `The ${kind} circuit breaker of ${target} is open: calls are refused until it recovers`, {
      details: { breaker: kind, target, retry_after_s: retryAfterS },
      retryAfterS,
    });
  }
}
