/**
 * One circuit breaker for every kind (skills' targets, failure persistence, the cost simulator's
 * drift). CLOSED -> OPEN after `failureThreshold` consecutive failures (or that many within
 * `failureWindowS`); OPEN refuses at once until the cooldown ends; then HALF_OPEN lets exactly one
 * probe through, whose result closes or re-opens it. A caller may also open or close a breaker
 * itself, with a reason (control.ts).
 *
 * Postgres holds the state (circuit_breaker_state) and takes every decision that changes it, under
 * the row's lock, so concurrent callers on any instance never race (seed PIN-028). Redis holds a
 * copy of each state (cache.ts): a call through a healthy or cooling breaker reads only Redis. If
 * Redis is away, Postgres answers; if Postgres is away too, calls go ahead (fail open), logged and
 * counted. Each transition is handed to the kind's `onTransition` in the transaction that makes it.
 *
 * @example
 *   const permit = await breaker.acquire({ tenantId: null, target: "voyage" }); // throws when open
 *   try { await callVoyage(); await breaker.succeed(permit); } catch (e) { await breaker.fail(permit, e); throw e; }
 */
import { randomUUID } from "node:crypto";
import type { AppError } from "../../errors.ts";
import { clock } from "../clock.ts";
import { afterCommit, inTransaction, query, withTx } from "../db/index.ts";
import { log } from "../logger.ts";
import type { BreakerRow } from "./breaker.sql.ts";
import * as sql from "./breaker.sql.ts";
import { NO_ROW, readCopy, type Snapshot, snapshotOf, writeCopy } from "./cache.ts";
import { describeError } from "./describe-error.ts";
import { type BreakerKey, type BreakerKind, BreakerOpenError, type BreakerPolicy, type Transition } from "./kind.ts";
import { type BreakerMetrics, breakerMetrics, genericInstruments } from "./metrics.ts";
import { BreakerStates } from "./states.ts";

/** Leave to call the target. `probeId` is set when this call is the HALF_OPEN probe. */
export interface Permit {
  key: BreakerKey;
  probeId: string | null;
  /** The consecutive failures the breaker had when the permit was given; absent when not known. */
  failuresSeen?: number;
}

/** A kind's breaker as its code uses it; see defineBreaker. */
export interface Breaker {
  readonly kind: string;
  acquire(key: BreakerKey): Promise<Permit>;
  succeed(permit: Permit): Promise<void>;
  /** `metadata` is kept with the transition when this failure opens the breaker (the figures behind it). */
  fail(permit: Permit, error: unknown, metadata?: Record<string, unknown>): Promise<void>;
  /** Internals shared with control.ts. */
  readonly internals: Internals;
}

export interface Internals {
  kind: BreakerKind;
  metrics: BreakerMetrics;
  params(key: BreakerKey): [string, string, string | null];
  transition(t: Transition): Promise<void>;
  keep(row: BreakerRow | undefined, key: BreakerKey): Promise<void>;
  storeFailed(op: string, key: BreakerKey, err: unknown): void;
  copyKey(key: BreakerKey): { kind: string; tenantId: string | null; target: string };
}

const secondsFrom = (now: Date, s: number) => new Date(now.getTime() + s * 1000);

/** What the state read says about a call: go ahead, refuse (with seconds to wait) or try to probe. */
type Decision = { go: "pass" } | { go: "refuse"; retryAfterS: number } | { go: "probe" };

function decide(s: Snapshot, nowMs: number): Decision {
  if (s.state === BreakerStates.closed) return { go: "pass" };
  if (s.state === BreakerStates.open && s.cooldownUntil !== null && s.cooldownUntil > nowMs)
    return { go: "refuse", retryAfterS: (s.cooldownUntil - nowMs) / 1000 };
  // A live probe is under way: its answer comes within seconds.
  if (s.state === BreakerStates.halfOpen && s.probeUntil !== null && s.probeUntil > nowMs)
    return { go: "refuse", retryAfterS: 1 };
  return { go: "probe" };
}

/**
 * The breaker of a kind. Define it once, at module level, next to the code it protects.
 *
 * @example
 *   export const persistBreaker = defineBreaker({
 *     kind: "failure_persistence",
 *     policy: () => ({ failureThreshold: 5, failureWindowS: 60, cooldownS: 60, probeLeaseMs: 10_000 }),
 *   });
 */
export function defineBreaker(kind: BreakerKind): Breaker {
  const name = kind.kind;
  const metrics =
    kind.metrics ??
    breakerMetrics(
      genericInstruments,
      (target) => ({ breaker: name, circuit: target }),
      (op) => ({ breaker: name, op }),
    );
  const openError = kind.openError ?? ((k: BreakerKey, s: number) => new BreakerOpenError(name, k.target, s));
  const params = (key: BreakerKey): [string, string, string | null] => [name, key.target, key.tenantId];
  const copyKey = (key: BreakerKey) => ({ kind: name, tenantId: key.tenantId, target: key.target });

  /** Refresh the Redis copy once the data is durable (at once outside a transaction). */
  async function keep(row: BreakerRow | undefined, key: BreakerKey): Promise<void> {
    const snap = row ? snapshotOf(row) : NO_ROW;
    if (inTransaction()) afterCommit(() => writeCopy(copyKey(key), snap));
    else await writeCopy(copyKey(key), snap);
  }

  async function transition(t: Transition): Promise<void> {
    await kind.onTransition?.(t);
    metrics.state(t.row.target, t.row.state);
  }

  /** The breaker's own store failed: the call goes ahead, and that must not go unnoticed. */
  function storeFailed(op: string, key: BreakerKey, err: unknown): void {
    metrics.storeError(op);
    log.warn("circuit breaker store failed; the call goes ahead (fail open)", {
      op,
      breaker: name,
      target: key.target,
      err,
    });
  }

  function refuse(key: BreakerKey, retryAfterS: number): AppError {
    metrics.rejected(key.target);
    return openError(key, Math.max(1, Math.ceil(retryAfterS)));
  }

  async function acquire(key: BreakerKey): Promise<Permit> {
    const copy = await readCopy(copyKey(key));
    if (copy) {
      const d = decide(copy, clock().nowMs());
      if (d.go === "pass") return { key, probeId: null, failuresSeen: copy.failureCount };
      if (d.go === "refuse") throw refuse(key, d.retryAfterS);
    }
    let refusal: AppError | undefined;
    try {
      const { rows } = await query<BreakerRow>(sql.get, params(key));
      const row = rows[0];
      const now = clock().now();
      const d = decide(row ? snapshotOf(row) : NO_ROW, now.getTime());
      if (d.go !== "probe") await keep(row, key);
      if (d.go === "pass") return { key, probeId: null, failuresSeen: row?.failure_count ?? 0 };
      if (d.go === "refuse") refusal = refuse(key, d.retryAfterS);
      else {
        const probe = await takeProbe(key, row as BreakerRow, now);
        if (probe) return probe;
        refusal = refuse(key, 1);
      }
    } catch (e) {
      storeFailed("acquire", key, e);
      return { key, probeId: null };
    }
    throw refusal;
  }

  /** One conditional UPDATE: of all the callers that saw the cooldown over, exactly one wins. */
  async function takeProbe(key: BreakerKey, seen: BreakerRow, now: Date): Promise<Permit | undefined> {
    const probeId = randomUUID();
    const probeUntil = new Date(now.getTime() + kind.policy().probeLeaseMs);
    return withTx(async () => {
      const { rows } = await query<BreakerRow>(sql.takeProbe, [...params(key), seen.state, probeId, probeUntil, now]);
      const row = rows[0];
      if (!row) return undefined;
      const reason =
        seen.state === BreakerStates.open
          ? "cooldown over: one probe call let through"
          : "probe permit lapsed: new probe";
      await transition({ row, from: seen.state, reason });
      await keep(row, key);
      return { key, probeId };
    });
  }

  async function succeed(permit: Permit): Promise<void> {
    const { key, probeId } = permit;
    metrics.success(key.target);
    try {
      const now = clock().now();
      if (probeId) {
        const closed = await withTx(async () => {
          const { rows } = await query<BreakerRow>(sql.closeAfterProbe, [...params(key), probeId, now]);
          const row = rows[0];
          if (!row) return false;
          await transition({ row, from: BreakerStates.halfOpen, reason: "probe call succeeded" });
          await keep(row, key);
          return true;
        });
        if (closed) {
          metrics.closed(key.target);
          return;
        }
      }
      // A window breaker forgets failures by time, not by successes; nothing to forget writes nothing.
      if (kind.policy().failureWindowS !== undefined || permit.failuresSeen === 0) return;
      const { rows } = await query<BreakerRow>(sql.clearFailures, [...params(key), now]);
      if (rows[0]) await keep(rows[0], key);
    } catch (e) {
      storeFailed("succeed", key, e);
    }
  }

  async function fail(permit: Permit, error: unknown, metadata?: Record<string, unknown>): Promise<void> {
    const { key, probeId } = permit;
    metrics.failure(key.target);
    try {
      const now = clock().now();
      const policy = kind.policy();
      const lastError = describeError(error);
      const opened = await withTx(async () => {
        if (probeId) {
          const cooldown = secondsFrom(now, policy.cooldownS);
          const reopen = [...params(key), probeId, now, lastError, cooldown];
          const { rows } = await query<BreakerRow>(sql.reopenAfterProbe, reopen);
          if (rows[0]) {
            await transition({
              row: rows[0],
              from: BreakerStates.halfOpen,
              reason: `probe call failed: ${lastError}`,
              metadata,
            });
            await keep(rows[0], key);
            return true;
          }
        }
        const { rows } = await query<BreakerRow>(sql.noteFailure, [...params(key), now, lastError]);
        let row = rows[0] as BreakerRow;
        // Only a CLOSED breaker counts: a call let through before it opened that fails later
        // changes the last error, not the state.
        if (row.state === BreakerStates.closed) row = await countFailure(row, policy, now);
        let opened = false;
        if (row.state === BreakerStates.closed && row.failure_count >= policy.failureThreshold) {
          const { rows: open } = await query<BreakerRow>(sql.open, [row.id, now, secondsFrom(now, policy.cooldownS)]);
          if (open[0]) {
            row = open[0];
            const n = row.failure_count;
            const failures = n === 1 ? "failure" : "failures";
            const what =
              policy.failureWindowS === undefined
                ? `consecutive ${failures}`
                : `${failures} in ${policy.failureWindowS} s`;
            const reason = `${n} ${what}: ${lastError}`;
            await transition({ row, from: BreakerStates.closed, reason, metadata });
            opened = true;
          }
        }
        await keep(row, key);
        return opened;
      });
      if (opened) metrics.opened(key.target);
    } catch (e) {
      storeFailed("fail", key, e);
    }
  }

  /** The new count of a locked CLOSED row: one more, or the failures within the window. */
  async function countFailure(row: BreakerRow, policy: BreakerPolicy, now: Date): Promise<BreakerRow> {
    let count = row.failure_count + 1;
    let recent: Date[] | null = null;
    if (policy.failureWindowS !== undefined) {
      const since = now.getTime() - policy.failureWindowS * 1000;
      recent = [...(row.recent_failures ?? []).filter((t) => t.getTime() > since), now].slice(-policy.failureThreshold);
      count = recent.length;
    }
    const { rows } = await query<BreakerRow>(sql.countFailures, [row.id, count, recent]);
    return rows[0] ?? row;
  }

  return {
    kind: name,
    acquire,
    succeed,
    fail,
    internals: { kind, metrics, params, transition, keep, storeFailed, copyKey },
  };
}
