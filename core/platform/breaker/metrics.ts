/**
 * What a breaker records, and the metrics a kind records it in. Skills record into the seed's
 * `m11_circuit_breaker_*` families (label `target`, core/skills/metrics.ts); every other kind, by
 * default, into the `aos_breaker_*` families below, labelled `breaker` (the kind) and `circuit`
 * (the breaker's target within its kind). A kind's targets must be a small set its code chooses
 * (never users' data): they are label values.
 */
import { type Counter, counter, type Gauge, gauge } from "../metrics/index.ts";
import { type BreakerState, breakerStateValue } from "./states.ts";

/** The events of a breaker, by target. */
export interface BreakerMetrics {
  state(target: string, state: BreakerState): void;
  failure(target: string): void;
  success(target: string): void;
  opened(target: string): void;
  closed(target: string): void;
  rejected(target: string): void;
  /** The Postgres store failed during `op` (acquire, succeed, fail, peek) and the call went ahead (fail open). */
  storeError(op: string): void;
}

/** The instruments of one family, and the labels a target gets in them. */
export interface BreakerInstruments {
  state: Gauge;
  failures: Counter;
  successes: Counter;
  opens: Counter;
  closes: Counter;
  rejected: Counter;
  storeErrors: Counter;
}

/**
 * `labels` names a target's series; store errors are counted by operation (`storeLabels`), not by
 * target: a store outage hits every target at once, and a target may be a tenant's host.
 */
export function breakerMetrics(
  m: BreakerInstruments,
  labels: (target: string) => Record<string, string>,
  storeLabels: (op: string) => Record<string, string> = (op) => ({ op }),
): BreakerMetrics {
  return {
    state: (t, s) => m.state.set(labels(t), breakerStateValue[s]),
    failure: (t) => m.failures.inc(labels(t)),
    success: (t) => m.successes.inc(labels(t)),
    opened: (t) => m.opens.inc(labels(t)),
    closed: (t) => m.closes.inc(labels(t)),
    rejected: (t) => m.rejected.inc(labels(t)),
    storeError: (op) => m.storeErrors.inc(storeLabels(op)),
  };
}

const generic = ["breaker", "circuit"] as const;

/** The families of every breaker kind that does not bring its own. */
export const genericInstruments: BreakerInstruments = {
  state: gauge("aos_breaker_state", "Circuit breaker state: 0=CLOSED, 1=OPEN, 2=HALF_OPEN", generic),
  failures: counter("aos_breaker_failures_total", "Failures recorded by a circuit breaker", generic),
  successes: counter("aos_breaker_successes_total", "Successes recorded by a circuit breaker", generic),
  opens: counter("aos_breaker_opens_total", "Circuit breaker openings", generic),
  closes: counter("aos_breaker_closes_total", "Circuit breaker recoveries (closings)", generic),
  rejected: counter("aos_breaker_rejected_total", "Calls refused by an open circuit breaker", generic),
  storeErrors: counter(
    "aos_breaker_store_errors_total",
    "Breaker store (Postgres) failures by operation; the call went ahead (fail open)",
    ["breaker", "op"],
    { allow: { op: ["acquire", "fail", "succeed", "peek"] } },
  ),
};

/**
 * Redis (the breakers' fast path) failed or was slow: the state was read from Postgres instead.
 * Every kind, skills included, by kind.
 */
export const cacheErrors = counter(
  "aos_breaker_cache_errors_total",
  "Breaker Redis reads or writes that failed; the state came from Postgres",
  ["breaker"],
);
