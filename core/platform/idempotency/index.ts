/**
 * Idempotency keys in Postgres (skill_executions, the one idempotency table), per tenant +
 * scope + key: a skill's executions (scope = the skill's name, core/skills/execute.ts) and
 * creating POSTs with an `Idempotency-Key` header (scope `route:<name>`, `once` below).
 *
 * The first call with a key inserts a `running` row and executes; later calls get the stored
 * result (same args), a conflict (other args) or "in progress" while the row's lease runs. A
 * running row whose lease ended belongs to a caller presumed dead: the next call takes it over
 * and its `attempts` grows, which fences the old caller (it can no longer store anything). A
 * retryable failure deletes the row so a retry may run; a final failure is stored and replayed.
 *
 * Race-free without locks held across the execution: the unique key decides the one inserter,
 * and the takeover is one conditional UPDATE, so exactly one of many concurrent callers executes.
 *
 * @example
 *   const claim = await begin({ scope: "kv_store", version: "1.0.0", key: "k-1", argsHash, leaseMs: 35_000 }, errors);
 *   if (claim.kind === "execute") await succeed(claim.id, claim.attempts, result, 12);
 */
import { useTenant } from "../../context.ts";
import { type AppError, ConflictError, InternalError, ValidationError } from "../../errors.ts";
import { clock } from "../clock.ts";
import { inTransaction, query } from "../db/index.ts";
import { log } from "../logger.ts";
import { hashArgs } from "./canonical.ts";
import type { ExecutionRow } from "./idempotency.sql.ts";
import * as sql from "./idempotency.sql.ts";
import { ExecutionStates } from "./states.ts";

/** How a caller names the two refusals (skills keep their `skills.*` codes). */
export interface ClaimErrors {
  /** Same key, other args or body. */
  conflict(scope: string, key: string): AppError;
  /** Same key while a live call holds it. */
  inProgress(scope: string, key: string, retryAfterS: number): AppError;
}

export interface BeginInput {
  /** A skill's name, or `route:<name>` for a creating POST. */
  scope: string;
  version: string;
  key: string;
  argsHash: string;
  /** How long the new execution holds the key before another call may take it over. */
  leaseMs: number;
}

/** A stored final failure, enough to throw the same error again. */
export interface StoredError {
  kind: AppError["kind"];
  code: string;
  message: string;
  details: unknown;
}

export type Claim =
  /** Execute: this call holds the key. `attempts` fences a caller whose lease was taken over. */
  | { kind: "execute"; id: string; attempts: number }
  /** The stored result of an earlier call with the same key and args. */
  | { kind: "replay"; id: string; result: unknown; durationMs: number | null; completedAt: string }
  /** The stored final failure of an earlier call with the same key and args. */
  | { kind: "replay_error"; id: string; error: StoredError };

/**
 * How often `begin` goes round when the row it conflicted with is gone by the time it reads it
 * (a retryable failure freed the key, or the sweep took it). Each round means another caller
 * made progress, so a few rounds are plenty; past them the key is reported as busy.
 */
const MAX_ROUNDS = 5;
/** Rows per sweep statement: short deletes, so a big backlog never holds locks for long. */
const SWEEP_BATCH = 5000;

/** Whole milliseconds, never negative: duration_ms is an integer column with a check. */
const wholeMs = (ms: number) => Math.max(0, Math.round(ms));

/**
 * Claim the key for this call (tenant from the context). Throws `errors.conflict` (other args)
 * or `errors.inProgress` (a live call holds it).
 */
export async function begin(input: BeginInput, errors: ClaimErrors): Promise<Claim> {
  const tenantId = useTenant();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = clock().nowMs();
    const leaseUntil = new Date(now + Math.max(0, input.leaseMs));
    const inserted = await query<{ id: string; attempts: number }>(sql.insert, [
      tenantId,
      input.scope,
      input.version,
      input.key,
      input.argsHash,
      new Date(now),
      leaseUntil,
    ]);
    const mine = inserted.rows[0];
    if (mine) return { kind: "execute", id: mine.id, attempts: mine.attempts };

    // A separate statement: a SELECT in the INSERT's own statement would read the snapshot taken
    // before the conflicting row committed, and miss it.
    const { rows } = await query<ExecutionRow>(sql.select, [tenantId, input.scope, input.key]);
    const row = rows[0];
    if (!row) continue; // freed between the conflict and the read: try to claim it again
    if (row.argsHash !== input.argsHash) throw errors.conflict(input.scope, input.key);
    if (row.status === ExecutionStates.succeeded)
      return {
        kind: "replay",
        id: row.id,
        result: row.result,
        durationMs: row.durationMs,
        completedAt: (row.completedAt ?? new Date(now)).toISOString(),
      };
    if (row.status === ExecutionStates.failed)
      return { kind: "replay_error", id: row.id, error: storedError(row.error) };

    const leftMs = row.leaseUntil.getTime() - now;
    if (leftMs > 0) throw errors.inProgress(input.scope, input.key, Math.max(1, Math.ceil(leftMs / 1000)));
    const taken = await query<{ id: string; attempts: number }>(sql.takeOver, [
      row.id,
      tenantId,
      new Date(now),
      leaseUntil,
      input.version,
    ]);
    const won = taken.rows[0];
    if (won) {
      log.warn("idempotent call taken over after its lease ended", {
        scope: input.scope,
        executionId: won.id,
        attempts: won.attempts,
      });
      return { kind: "execute", id: won.id, attempts: won.attempts };
    }
    // Another caller took it over, finished it or freed it: the next round reads what it did.
  }
  throw errors.inProgress(input.scope, input.key, 1);
}

/** A stored error back as StoredError; a row written by hand may lack fields. */
function storedError(e: Record<string, unknown> | null): StoredError {
  return {
    kind: (e?.kind ?? "internal") as StoredError["kind"],
    code: typeof e?.code === "string" ? e.code : "internal",
    message: typeof e?.message === "string" ? e.message : "The stored execution failed",
    details: e?.details ?? null,
  };
}

/** Store the result; a caller whose lease was taken over (other `attempts`) stores nothing. */
export async function succeed(id: string, attempts: number, result: unknown, durationMs: number): Promise<boolean> {
  const v = successValues({ id, attempts, result, durationMs });
  const r = await query(sql.succeed, [v.id, useTenant(), v.attempts, v.result, clock().now(), v.ms]);
  return (r.rowCount ?? 0) > 0;
}

/** A claimed call's success not yet stored: its caller stores it (`succeed`, or `succeedFrom` in a statement of its own). */
export interface PendingSuccess {
  id: string;
  attempts: number;
  result: unknown;
  durationMs: number;
}

/** The values `succeed` stores for `p` (`succeedFrom`'s id, attempts, result and ms). */
export function successValues(p: PendingSuccess): { id: string; attempts: number; result: string; ms: number } {
  // `undefined` has no JSON: stored as JSON null, as the reply would show it.
  return { id: p.id, attempts: p.attempts, result: JSON.stringify(p.result ?? null), ms: wholeMs(p.durationMs) };
}

/**
 * The error as stored: kind, code, message and details only. Never the cause or the stack, which
 * may carry internals (SQL, hosts, secrets in URLs) that a replay would hand to the caller.
 */
export function toStoredError(error: AppError): StoredError {
  return { kind: error.kind, code: error.code, message: error.message, details: error.details ?? null };
}

/** JSON text of a stored error; details that do not serialise (a BigInt, a cycle) are dropped. */
function storedErrorJson(error: AppError): string {
  const stored = toStoredError(error);
  try {
    return JSON.stringify(stored);
  } catch {
    return JSON.stringify({ ...stored, details: null });
  }
}

/** A final failure is stored and replayed; a retryable one frees the key (the row goes). */
export async function fail(id: string, attempts: number, error: AppError, durationMs: number): Promise<boolean> {
  const tenantId = useTenant();
  const r = error.retryable
    ? await query(sql.release, [id, tenantId, attempts])
    : await query(sql.failFinal, [id, tenantId, attempts, storedErrorJson(error), clock().now(), wholeMs(durationMs)]);
  return (r.rowCount ?? 0) > 0;
}

/** Free the key without storing anything (the call never started its work): a retry runs. */
export async function free(id: string, attempts: number): Promise<boolean> {
  const r = await query(sql.release, [id, useTenant(), attempts]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Delete finished records created more than `ttlH` hours ago, and running ones whose lease ended
 * that long ago (their caller died and nobody retried); returns how many went. Runs across
 * tenants (a cron's work), in batches of SWEEP_BATCH rows per statement.
 */
export async function sweep(ttlH: number): Promise<number> {
  const cutoff = new Date(clock().nowMs() - ttlH * 3_600_000);
  let total = 0;
  for (;;) {
    const r = await query(sql.sweepBatch, [cutoff, SWEEP_BATCH]);
    const n = r.rowCount ?? 0;
    total += n;
    if (n < SWEEP_BATCH) return total;
  }
}

/** 409: an `Idempotency-Key` sent again with another body. */
export class IdempotencyKeyReusedError extends ConflictError {
  override name = "IdempotencyKeyReusedError";
  constructor(scope: string, key: string) {
    super(
      "idempotency.key_reused",
      `Idempotency-Key ${JSON.stringify(key)} was already used with a different request body; send a new key for a new request`,
      { details: { idempotency_key: key, operation: scope.replace(/^route:/, "") } },
    );
  }
}

/** The refusals of a creating POST's key. `inProgress` cannot happen inside a transaction (see `once`). */
const routeErrors: ClaimErrors = {
  conflict: (scope, key) => new IdempotencyKeyReusedError(scope, key),
  inProgress: (scope, key) => new IdempotencyKeyReusedError(scope, key),
};

/** The longest `Idempotency-Key` accepted (Stripe's limit too). */
export const MAX_KEY_LENGTH = 255;

/** Stripe's reply header on a replayed answer. */
export const replayHeaders = (replayed: boolean): Record<string, string> =>
  replayed ? { "idempotent-replayed": "true" } : {};

/**
 * The `Idempotency-Key` header of a request (headers as API Gateway hands them, lower-case), or
 * undefined. A 400 naming `headers.idempotency-key` when it is empty, longer than 255 characters
 * or not printable ASCII.
 */
export function keyFrom(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const key = headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key))
    throw new ValidationError("Invalid Idempotency-Key header", [
      { field: "headers.idempotency-key", message: `1 to ${MAX_KEY_LENGTH} printable ASCII characters` },
    ]);
  return key;
}

/**
 * A creating POST made idempotent by its `Idempotency-Key` (Stripe's semantics), INSIDE the
 * caller's transaction: the key is claimed (a concurrent request with the same key waits on the
 * unique index until this transaction ends), `work` runs, and its reply is stored in the same
 * transaction. So a key is used exactly when the work commits: a request that fails (a 402, a
 * 404, a rollback) stores nothing and may be sent again with the same key. The same key and body
 * later return the stored reply (`replayed: true`); another body is 409 `idempotency.key_reused`.
 * Without a key, `work` simply runs. Keys are per tenant and scope, kept as long as skills' keys.
 *
 * @example
 *   const { reply } = await withTx(() => Idempotency.once("route:jobs.create", key, body, () => spawnRows(body)));
 */
export async function once<T>(
  scope: string,
  key: string | undefined,
  request: unknown,
  work: () => Promise<T>,
): Promise<{ reply: T; replayed: boolean }> {
  if (key === undefined) return { reply: await work(), replayed: false };
  if (!inTransaction()) throw new InternalError("Idempotency.once must run inside a transaction");
  const claim = await begin(
    { scope, version: "1", key, argsHash: hashArgs(request), leaseMs: 24 * 3_600_000 },
    routeErrors,
  );
  if (claim.kind === "replay") return { reply: claim.result as T, replayed: true };
  if (claim.kind === "replay_error") throw new InternalError(`stored failure under ${scope} ${key}`);
  const reply = await work();
  await succeed(claim.id, claim.attempts, reply, 0);
  return { reply, replayed: false };
}

export { canonicalJson, hashArgs } from "./canonical.ts";
export { succeedFrom } from "./idempotency.sql.ts";
