/**
 * The circuit breaker of every domain: define a kind once with `defineBreaker`, then
 * `acquire` / `succeed` / `fail` around each call; `openBreaker` / `closeBreaker` for a breaker its
 * caller drives. See breaker.ts for the state machine and cache.ts for Redis's part.
 *
 * @example
 *   import { defineBreaker } from "../platform/breaker/index.ts";
 *   const persist = defineBreaker({
 *     kind: "failure_persistence",
 *     policy: () => ({ failureThreshold: 5, failureWindowS: 60, cooldownS: 60, probeLeaseMs: 10_000 }),
 *   });
 *   const permit = await persist.acquire({ tenantId: null, target: "failure_matches" });
 */

export type { BreakerRow, BreakerSummaryRow } from "./breaker.sql.ts";
export { type Breaker, defineBreaker, type Permit } from "./breaker.ts";
export { COPY_TTL_MS } from "./cache.ts";
export {
  closeBreaker,
  listBreakers,
  openBreaker,
  peekBreaker,
  type Recovery,
  readBreaker,
  recoverBreaker,
  stateAt,
  summarizeBreakers,
} from "./control.ts";
export { describeError } from "./describe-error.ts";
export {
  type BreakerKey,
  type BreakerKind,
  BreakerOpenError,
  type BreakerPolicy,
  type Transition,
} from "./kind.ts";
export { type BreakerInstruments, type BreakerMetrics, breakerMetrics, genericInstruments } from "./metrics.ts";
export { type BreakerState, BreakerStates, breakerStateNames, breakerStateValue } from "./states.ts";
