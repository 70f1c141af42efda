/**
 * The skills' circuit breakers: the platform breaker (core/platform/breaker) of kind `skill`, one
 * per external target. Thresholds from SKILL_BREAKER_FAILURE_THRESHOLD (consecutive failures) and
 * SKILL_BREAKER_COOLDOWN_S; the seed's m11_circuit_breaker_* metrics, labelled `target`; a refusal
 * is `skills.circuit_open`; each transition is recorded in status_history (entity
 * `circuit_breaker`, the target as its id), shared targets' under the platform tenant.
 *
 * @example
 *   const permit = await acquire(breakerKey("global", "slack", tenantId)); // throws CircuitOpenError
 *   try { await callSlack(); await succeed(permit); } catch (e) { await fail(permit, e); throw e; }
 */
import { config } from "../config.ts";
import {
  type BreakerKey,
  type BreakerState,
  breakerMetrics,
  defineBreaker,
  type Permit,
  peekBreaker,
  type Transition,
} from "../platform/breaker/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import { SYSTEM_TENANT_ID } from "../tenancy/index.ts";
import { CircuitOpenError } from "./errors.ts";
import { skillMetrics as m } from "./metrics.ts";

export type { BreakerKey, BreakerState, Permit };

/**
 * How long the probe's permit lasts. Longer than the longest skill call (25 s), so a live probe
 * is never overtaken; a probe whose caller died frees the breaker once it lapses.
 */
export const PROBE_LEASE_MS = 30_000;

/** Longest status_history entity_id; a longer target (a 253-character host) is cut, kept whole in metadata. */
const ENTITY_ID_MAX = 200;

export function breakerKey(scope: "global" | "tenant", target: string, tenantId: string): BreakerKey {
  return { tenantId: scope === "tenant" ? tenantId : null, target };
}

/** A transition in status_history, in the transaction that makes it. */
async function recordTransition({ row, from, reason, metadata }: Transition): Promise<void> {
  await StatusHistory.record({
    entity_type: "circuit_breaker",
    entity_id: row.target.slice(0, ENTITY_ID_MAX),
    old_status: from,
    new_status: row.state,
    reason,
    metadata: {
      target: row.target,
      scope: row.tenant_id ? "tenant" : "global",
      failure_count: row.failure_count,
      cooldown_until: row.cooldown_until?.toISOString() ?? null,
      ...metadata,
    },
    tenant_id: row.tenant_id ?? SYSTEM_TENANT_ID,
  });
}

export const skillBreaker = defineBreaker({
  kind: "skill",
  policy: () => {
    const b = config().skills.breaker;
    return { failureThreshold: b.failureThreshold, cooldownS: b.cooldownS, probeLeaseMs: PROBE_LEASE_MS };
  },
  metrics: breakerMetrics(
    {
      state: m.breakerState,
      failures: m.breakerFailures,
      successes: m.breakerSuccesses,
      opens: m.breakerOpens,
      closes: m.breakerCloses,
      rejected: m.breakerRejected,
      storeErrors: m.breakerStoreErrors,
    },
    (target) => ({ target }),
  ),
  openError: (key, retryAfterS) => new CircuitOpenError(key.target, retryAfterS),
  onTransition: recordTransition,
});

/** Leave to call the key's target; throws CircuitOpenError when refused, never for a store failure. */
export const acquire = (key: BreakerKey): Promise<Permit> => skillBreaker.acquire(key);
/** The target answered (a 4xx refusal counts: the target is up). Never throws. */
export const succeed = (permit: Permit): Promise<void> => skillBreaker.succeed(permit);
/** The target failed (network, timeout, 5xx, 429 after retries). Never throws. */
export const fail = (permit: Permit, error: unknown): Promise<void> => skillBreaker.fail(permit, error);
/** The state a call would meet now, for simulations (reads Postgres; CLOSED on a store failure). */
export const peek = (key: BreakerKey): Promise<BreakerState> => peekBreaker(skillBreaker, key);
