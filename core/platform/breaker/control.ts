/**
 * A breaker driven by its caller rather than by failures: open it with a reason (the cost
 * simulator on drift: it then recovers through the usual cooldown and probe, the probe being the
 * canary), close it with a reason (an admin's reset), recover it once its cooldown is over and a
 * guard agrees (one recoverer of many), read it without changing it, list a kind's.
 */
import { clock } from "../clock.ts";
import { query, withTx } from "../db/index.ts";
import type { BreakerRow, BreakerSummaryRow } from "./breaker.sql.ts";
import * as sql from "./breaker.sql.ts";
import type { Breaker } from "./breaker.ts";
import { readCopy, snapshotOf } from "./cache.ts";
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
  opts: { reason: string; metadata?: Record<string, unknown> },
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
      metadata: { failure_count_before: before.failure_count, ...opts.metadata },
    });
    await keep(row, key);
    return { row, from: before.state };
  });
  if (result && result.from !== BreakerStates.closed) metrics.closed(key.target);
  return result;
}

/** The state a caller meets now: OPEN while cooling down, HALF_OPEN once a probe may go (or a recovery). */
export function stateAt(s: { state: BreakerState; cooldownUntil: number | null }, nowMs: number): BreakerState {
  if (s.state === BreakerStates.open && s.cooldownUntil !== null && s.cooldownUntil <= nowMs)
    return BreakerStates.halfOpen;
  return s.state;
}

/**
 * The state a caller would meet now, changing nothing: OPEN while cooling down, HALF_OPEN once a
 * probe may go, CLOSED for a breaker without a row. Read from Postgres (the durable state), or with
 * `viaCopy` from Redis's copy first (a hot path's read; Postgres when the copy is missing and
 * the copy refreshed). A store failure reads as CLOSED (fail open), logged and counted.
 */
export async function peekBreaker(
  breaker: Breaker,
  key: BreakerKey,
  opts: { viaCopy?: boolean } = {},
): Promise<BreakerState> {
  const { params, storeFailed, keep, copyKey } = breaker.internals;
  if (opts.viaCopy) {
    const copy = await readCopy(copyKey(key));
    if (copy) return stateAt(copy, clock().nowMs());
  }
  try {
    const { rows } = await query<BreakerRow>(sql.get, params(key));
    const row = rows[0];
    if (opts.viaCopy) await keep(row, key);
    return row ? stateAt(snapshotOf(row), clock().nowMs()) : BreakerStates.closed;
  } catch (e) {
    storeFailed("peek", key, e);
    return BreakerStates.closed;
  }
}

/** The breaker's row as Postgres has it (undefined: it never failed nor was opened). Throws when the store fails. */
export async function readBreaker(breaker: Breaker, key: BreakerKey): Promise<BreakerRow | undefined> {
  return (await query<BreakerRow>(sql.get, breaker.internals.params(key))).rows[0];
}

/** What `recoverBreaker` did: closed it, or why not. */
export type Recovery = { recovered: true; row: BreakerRow; from: BreakerState } | { recovered: false; why: string };

/**
 * Close a breaker whose cooldown is over, if `guard` agrees, under the row's lock (SELECT ... FOR
 * UPDATE): of any number of concurrent recoverers exactly one closes it; the others wait for the
 * lock, then find it CLOSED and say so. `guard` runs in the same transaction, on the locked row,
 * and returns null to let the recovery go or why it must not (a canary that did not pass). The
 * transition is recorded with `reason` and `metadata`, and counted as a closing.
 *
 * @example
 *   const r = await recoverBreaker(driftBreaker, key, { reason: "TTL over, canary passed", guard: canaryPassed });
 *   if (!r.recovered) log.info("V2 stays disabled", { why: r.why });
 */
export async function recoverBreaker(
  breaker: Breaker,
  key: BreakerKey,
  opts: {
    reason: string;
    guard?: (row: BreakerRow) => Promise<string | null>;
    metadata?: (row: BreakerRow) => Record<string, unknown>;
  },
): Promise<Recovery> {
  const { params, transition, keep, metrics } = breaker.internals;
  const result = await withTx(async (): Promise<Recovery> => {
    const { rows: locked } = await query<BreakerRow>(sql.lock, params(key));
    const before = locked[0];
    const now = clock().now();
    if (!before || before.state === BreakerStates.closed) return { recovered: false, why: "the breaker is closed" };
    if (before.cooldown_until && before.cooldown_until > now)
      return { recovered: false, why: `disabled until ${before.cooldown_until.toISOString()}` };
    const refusal = (await opts.guard?.(before)) ?? null;
    if (refusal !== null) return { recovered: false, why: refusal };
    const { rows } = await query<BreakerRow>(sql.reset, [before.id, now]);
    const row = rows[0] as BreakerRow;
    await transition({ row, from: before.state, reason: opts.reason, metadata: opts.metadata?.(before) });
    await keep(row, key);
    return { recovered: true, row, from: before.state };
  });
  if (result.recovered) metrics.closed(key.target);
  return result;
}

/**
 * Every breaker not CLOSED, of every kind and tenant, counted by kind, state and scope (no
 * targets: a target may be a tenant's host), with the earliest end of their cooldowns.
 */
export async function summarizeBreakers(): Promise<BreakerSummaryRow[]> {
  return (await query<BreakerSummaryRow>(sql.summary)).rows;
}

/** A kind's breakers of one tenant and every shared one, most recently changed first. */
export async function listBreakers(
  breaker: Breaker,
  filter: { tenantId: string; state?: BreakerState },
): Promise<BreakerRow[]> {
  const { rows } = await query<BreakerRow>(sql.list, [breaker.kind, filter.tenantId, filter.state ?? null]);
  return rows;
}
