/**
 * The drift breaker's kind (its name, policy and metrics) and the read of its state that the hot
 * paths make (simulate, the shadow worker): whether V2 may run. Apart from breaker.ts, which adds
 * the transitions' incidents and alerts, so that a route that only reads the state (a simulate,
 * the status) never carries the alert queue's SQS client in its bundle; both define the same kind
 * over the same row and Redis copy, and only breaker.ts's ever changes it.
 */
import { config } from "../config.ts";
import {
  type BreakerKind,
  BreakerStates,
  breakerStateValue,
  defineBreaker,
  genericInstruments,
  peekBreaker,
} from "../platform/breaker/index.ts";
import { clock } from "../platform/clock.ts";
import { costsimMetrics as m } from "./metrics.ts";

/** The breaker's key: one for all tenants. */
export const BREAKER_KEY = { tenantId: null, target: "v2" } as const;

const ttlS = () => Math.round(config().costsim.breaker.disableTtlHours * 3600);

const noop = () => {};

/** The kind: COSTSIM_CB_FAILURE_THRESHOLD consecutive failing evaluations, DEFAULT_DISABLE_TTL_HOURS disabled. */
export const driftKind: BreakerKind = {
  kind: "costsim",
  policy: () => ({
    failureThreshold: config().costsim.breaker.failureThreshold,
    cooldownS: ttlS(),
    probeLeaseMs: 60_000,
  }),
  // The seed's families: the state gauge here, trips and recoveries by trigger in onTransition;
  // store failures beside every other kind's.
  metrics: {
    state: (_t, s) => m.breakerState.set({}, breakerStateValue[s]),
    failure: noop,
    success: noop,
    opened: noop,
    closed: noop,
    rejected: noop,
    storeError: (op) => genericInstruments.storeErrors.inc({ breaker: "costsim", op }),
  },
};

/** The kind without transitions of its own: reads only. */
export const driftReader = defineBreaker(driftKind);

/**
 * Whether V2 may run now: the breaker CLOSED, read from Redis's copy (Postgres without one). A
 * breaker whose store cannot be read is CLOSED (fail open: V2 is never disabled by a failing
 * check), logged and counted.
 */
export async function v2Enabled(): Promise<boolean> {
  return (await peekBreaker(driftReader, BREAKER_KEY, { viaCopy: true })) === BreakerStates.closed;
}

/** How long a process trusts what it read of the breaker on the hot paths (simulate, the shadow worker). */
export const STATE_CACHE_MS = 5000;
let cached: { enabled: boolean; until: number } | null = null;

/**
 * `v2Enabled`, read at most every STATE_CACHE_MS by this process: what simulate and the shadow
 * worker ask per request. A trip takes effect in every process within that time.
 */
export async function v2EnabledCached(): Promise<boolean> {
  const now = clock().nowMs();
  if (cached && cached.until > now) return cached.enabled;
  const enabled = await v2Enabled();
  cached = { enabled, until: now + STATE_CACHE_MS };
  return enabled;
}

/** Forget this process's cached state (tests move time by hand; a reset). */
export function forgetStateCache(): void {
  cached = null;
}
