/**
 * Circuit breakers per external target, their state in Postgres (circuit_breaker_state) so every
 * Lambda instance shares it. CLOSED -> OPEN after SKILL_BREAKER_FAILURE_THRESHOLD consecutive
 * failures; OPEN refuses at once until the cooldown ends; then HALF_OPEN lets exactly one probe
 * through, whose result closes or re-opens it. If the store itself fails, calls go ahead (fail
 * open), logged and counted. Each transition is recorded in status_history, in the transaction
 * that makes it.
 *
 * A healthy breaker costs one indexed SELECT per call and no write: `acquire` only reads, and
 * `succeed` writes only when there are failures to forget.
 *
 * @example
 *   const permit = await acquire(breakerKey("global", "slack", tenantId)); // throws CircuitOpenError
 *   try { await callSlack(); await succeed(permit); } catch (e) { await fail(permit, e); throw e; }
 */
import { randomUUID } from "node:crypto";
import { config } from "../config.ts";
import { AppError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import * as StatusHistory from "../status-history/index.ts";
import { type BreakerRow, sql } from "./breakers.sql.ts";
import { CircuitOpenError } from "./errors.ts";
import { breakerStateValue, skillMetrics as m } from "./metrics.ts";

/** A breaker's identity: its target, and the tenant for a tenant-scoped target (null: shared). */
export interface BreakerKey {
  tenantId: string | null;
  target: string;
}

/** Leave to call the target; `probeId` is set when this call is the HALF_OPEN probe. */
export interface Permit {
  key: BreakerKey;
  probeId: string | null;
}

export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN";

/** The platform's own tenant (migration 0004): shared breakers' transitions are recorded under it. */
export const SYSTEM_TENANT_ID = "00000000-0000-0000-0000-000000000000";

/**
 * How long the probe's permit lasts. Longer than the longest skill call (25 s), so a live probe
 * is never overtaken; a probe whose caller died frees the breaker once it lapses.
 */
export const PROBE_LEASE_MS = 30_000;

/** Longest status_history entity_id; a longer target (a 253-character host) is cut, kept whole in metadata. */
const ENTITY_ID_MAX = 200;
const LAST_ERROR_MAX = 1000;

export function breakerKey(scope: "global" | "tenant", target: string, tenantId: string): BreakerKey {
  return { tenantId: scope === "tenant" ? tenantId : null, target };
}

const keyParams = (key: BreakerKey) => [key.target, key.tenantId];
const cooldownFrom = (now: Date) => new Date(now.getTime() + config().skills.breaker.cooldownS * 1000);

export interface Transition {
  row: BreakerRow;
  from: BreakerState | null;
  reason: string;
  /** More to keep in the row's metadata (e.g. the failure count a reset forgot). */
  metadata?: Record<string, unknown>;
}

/**
 * Record a state change in status_history (in the ambient transaction, so it commits or rolls
 * back with the change) and set the state gauge once the change is made.
 */
export async function recordTransition({ row, from, reason, metadata }: Transition): Promise<void> {
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
  m.breakerState.set({ target: row.target }, breakerStateValue[row.state]);
}

/**
 * The breaker's own store failed: the call goes ahead. Logged and counted, because a breaker that
 * silently stopped protecting would otherwise go unnoticed.
 */
function storeFailed(op: string, key: BreakerKey, err: unknown): void {
  m.breakerStoreErrors.inc({ target: key.target });
  log.warn("circuit breaker store failed; the call goes ahead (fail open)", { op, target: key.target, err });
}

function refuse(key: BreakerKey, retryAfterS: number): never {
  m.breakerRejected.inc({ target: key.target });
  throw new CircuitOpenError(key.target, Math.max(1, Math.ceil(retryAfterS)));
}

/**
 * Leave to call the key's target. Throws CircuitOpenError when the breaker refuses the call (open
 * and cooling down, or half-open with its probe under way); never throws for a store failure.
 */
export async function acquire(key: BreakerKey): Promise<Permit> {
  try {
    const { rows } = await query<BreakerRow>(sql.get, keyParams(key));
    const row = rows[0];
    if (!row || row.state === "CLOSED") return { key, probeId: null };
    const now = clock().now();
    if (row.state === "OPEN" && row.cooldown_until && row.cooldown_until > now)
      refuse(key, (row.cooldown_until.getTime() - now.getTime()) / 1000);
    // A live probe is under way: its answer comes within seconds.
    if (row.state === "HALF_OPEN" && row.probe_until && row.probe_until > now) refuse(key, 1);
    return await takeProbe(key, row.state, now);
  } catch (e) {
    if (e instanceof CircuitOpenError) throw e;
    storeFailed("acquire", key, e);
    return { key, probeId: null };
  }
}

/** One conditional UPDATE: of all the callers that saw the cooldown over, exactly one wins. */
async function takeProbe(key: BreakerKey, seen: BreakerState, now: Date): Promise<Permit> {
  const probeId = randomUUID();
  const probeUntil = new Date(now.getTime() + PROBE_LEASE_MS);
  const won = await withTx(async () => {
    const { rows } = await query<BreakerRow>(sql.takeProbe, [...keyParams(key), seen, probeId, probeUntil, now]);
    const row = rows[0];
    if (!row) return false;
    const reason = seen === "OPEN" ? "cooldown over: one probe call let through" : "probe permit lapsed: new probe";
    await recordTransition({ row, from: seen, reason });
    return true;
  });
  if (!won) refuse(key, 1);
  return { key, probeId };
}

/** The target answered (a 4xx refusal counts: the target is up). Never throws. */
export async function succeed(permit: Permit): Promise<void> {
  const { key, probeId } = permit;
  m.breakerSuccesses.inc({ target: key.target });
  try {
    const now = clock().now();
    if (probeId) {
      const closed = await withTx(async () => {
        const { rows } = await query<BreakerRow>(sql.closeAfterProbe, [...keyParams(key), probeId, now]);
        if (rows[0]) await recordTransition({ row: rows[0], from: "HALF_OPEN", reason: "probe call succeeded" });
        return rows[0] !== undefined;
      });
      if (closed) {
        m.breakerCloses.inc({ target: key.target });
        return;
      }
    }
    await query(sql.clearFailures, [...keyParams(key), now]);
  } catch (e) {
    storeFailed("succeed", key, e);
  }
}

/** The target failed (network, timeout, 5xx, 429 after retries). Never throws. */
export async function fail(permit: Permit, error: unknown): Promise<void> {
  const { key, probeId } = permit;
  m.breakerFailures.inc({ target: key.target });
  try {
    const now = clock().now();
    const lastError = describeError(error);
    const opened = await withTx(async () => {
      if (probeId) {
        const { rows } = await query<BreakerRow>(sql.reopenAfterProbe, [
          ...keyParams(key),
          probeId,
          now,
          lastError,
          cooldownFrom(now),
        ]);
        if (rows[0]) {
          await recordTransition({ row: rows[0], from: "HALF_OPEN", reason: `probe call failed: ${lastError}` });
          return true;
        }
      }
      const { rows } = await query<BreakerRow>(sql.recordFailure, [...keyParams(key), now, lastError]);
      const row = rows[0];
      const threshold = config().skills.breaker.failureThreshold;
      if (row?.state !== "CLOSED" || row.failure_count < threshold) return false;
      const { rows: open } = await query<BreakerRow>(sql.open, [row.id, now, cooldownFrom(now)]);
      if (!open[0]) return false;
      const reason = `${open[0].failure_count} consecutive failures: ${lastError}`;
      await recordTransition({ row: open[0], from: "CLOSED", reason });
      return true;
    });
    if (opened) m.breakerOpens.inc({ target: key.target });
  } catch (e) {
    storeFailed("fail", key, e);
  }
}

/**
 * What is kept of a failure in last_error: its code and message, with every URL cut to its
 * origin (webhook URLs carry their secret in the path or query, and a URL may carry credentials).
 */
export function describeError(e: unknown): string {
  const text =
    e instanceof AppError ? `${e.code}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?([^\s/?#"'<>]+)[^\s"'<>]*/gi, "$1$2")
    .replace(/aos_[A-Za-z0-9_-]{8,}/g, "aos_***")
    .slice(0, LAST_ERROR_MAX);
}

/**
 * The state of a breaker as a caller would meet it now, for simulations: OPEN while cooling
 * down, CLOSED for an unknown target. Reads only; a store failure reads as CLOSED (fail open).
 */
export async function peek(key: BreakerKey): Promise<BreakerState> {
  try {
    const { rows } = await query<BreakerRow>(sql.get, keyParams(key));
    const row = rows[0];
    if (!row) return "CLOSED";
    if (row.state === "OPEN" && row.cooldown_until && row.cooldown_until <= clock().now()) return "HALF_OPEN";
    return row.state;
  } catch (e) {
    storeFailed("peek", key, e);
    return "CLOSED";
  }
}
