/**
 * A breaker driven by its caller rather than by failures: open it with a reason (the cost
 * simulator on drift: it then recovers through the usual cooldown and probe, the probe being the
 * canary), close it with a reason (an admin's reset), read it without changing it, list a kind's.
 */
import { clock } from "../clock.ts";
import { query, withTx } from "../db/index.ts";
import type { BreakerRow } from "./breaker.sql.ts";
import * as sql from "./breaker.sql.ts";
import type { Breaker } from "./breaker.ts";
import type { BreakerKey } from "./kind.ts";
import { type BreakerState, BreakerStates } from "./states.ts";

/**
 * Open the breaker now, whatever its state, for `cooldownS` (default: the kind's cooldown); an
 * open breaker gets the new cooldown. Returns the row and the state it left.
 *
 * @example
 *   await openBreaker(driftBreaker, { tenantId: null, target: "costsim_v2" }, { reason: "p95 drift 0.31 > 0.2" });
 */
export async function openBreaker(
  breaker: Breaker,
  key: BreakerKey,
  opts: { reason: string; cooldownS?: number; metadata?: Record<string, unknown> },
): Promise<{ row: BreakerRow; from: BreakerState }> {
  const { params, transition, keep, metrics, kind } = breaker.internals;
  const now = clock().now();
  const until = new Date(now.getTime() + (opts.cooldownS ?? kind.policy().cooldownS) * 1000);
  const result = await withTx(async () => {
    const { rows: before } = await query<BreakerRow>(sql.lock, params(key));
    const from = before[0]?.state ?? BreakerStates.closed;
    const { rows } = await query<BreakerRow>(sql.forceOpen, [...params(key), now, until]);
    const row = rows[0] as BreakerRow;
    await transition({ row, from, reason: opts.reason, metadata: opts.metadata });
    await keep(row, key);
    return { row, from };
  });
  if (result.from !== BreakerStates.open) metrics.opened(key.target);
  return result;
}

/**
 * Back to CLOSED with no failures, whatever the state, recorded with the reason. Undefined when
 * the breaker has no row (it never failed nor was opened).
 *
 * @example
 *   await closeBreaker(skillBreaker, { tenantId: null, target: "slack" }, { reason: "reset by an admin" });
 */
export async function closeBreaker(
  breaker: Breaker,
  key: BreakerKey,
  opts: { reason: string },
): Promise<{ row: BreakerRow; from: BreakerState } | undefined> {
  const { params, transition, keep, metrics } = breaker.internals;
  const result = await withTx(async () => {
    const { rows: locked } = await query<BreakerRow>(sql.lock, params(key));
    const before = locked[0];
    if (!before) return undefined;
    const { rows } = await query<BreakerRow>(sql.reset, [before.id, clock().now()]);
    const row = rows[0] as BreakerRow;
    await transition({
      row,
      from: before.state,
      reason: opts.reason,
      metadata: { failure_count_before: before.failure_count },
    });
    await keep(row, key);
    return { row, from: before.state };
  });
  if (result && result.from !== BreakerStates.closed) metrics.closed(key.target);
  return result;
}

/**
 * The state a caller would meet now, read from Postgres (the durable state), changing nothing:
 * OPEN while cooling down, HALF_OPEN once a probe may go, CLOSED for a breaker without a row. A
 * store failure reads as CLOSED (fail open), logged and counted.
 */
export async function peekBreaker(breaker: Breaker, key: BreakerKey): Promise<BreakerState> {
  const { params, storeFailed } = breaker.internals;
  try {
    const { rows } = await query<BreakerRow>(sql.get, params(key));
    const row = rows[0];
    if (!row) return BreakerStates.closed;
    if (row.state === BreakerStates.open && row.cooldown_until && row.cooldown_until <= clock().now())
      return BreakerStates.halfOpen;
    return row.state;
  } catch (e) {
    storeFailed("peek", key, e);
    return BreakerStates.closed;
  }
}

/** A kind's breakers of one tenant and every shared one, most recently changed first. */
export async function listBreakers(
  breaker: Breaker,
  filter: { tenantId: string; state?: BreakerState },
): Promise<BreakerRow[]> {
  const { rows } = await query<BreakerRow>(sql.list, [breaker.kind, filter.tenantId, filter.state ?? null]);
  return rows;
}
