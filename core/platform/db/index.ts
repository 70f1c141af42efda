/**
 * The database: a lazily created pool, ambient transactions and `afterCommit` hooks.
 *
 * Inside `withTx(fn)` every `query()` runs on the transaction's connection, so core functions
 * compose without passing a client around. Work that must only happen once the data is durable
 * (queue sends, cache evictions, Redis publishes) goes through `afterCommit`.
 *
 * @example
 *   await withTx(async () => {
 *     await query("insert into tenants (id, name) values ($1, $2)", [id, name]);
 *     afterCommit(() => Queue.send("Events", { type: "tenant.created", id }));
 *   });
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { config } from "../../config.ts";
import { inBackground } from "../background.ts";
import { clock } from "../clock.ts";
import { log } from "../logger.ts";
import { coerceError, isConnectionFailure, isRetryableTxError } from "./errors.ts";
import { createPool, type Pool, type PoolClient, type Queryable, type QueryResult } from "./pool.ts";

export { type CopyOutResult, type CopyOutSpec, type CopySetting, copyOut, settingPlaceholder } from "./copy.ts";
export {
  ConnectionLostError,
  coerceError,
  isConnectionFailure,
  isRetryableTxError,
  pgCode,
  pgErrorTable,
} from "./errors.ts";
export { ISO_UTC_PATTERN, isoUtc } from "./iso.ts";
export { sqlLiteral, sqlLiterals } from "./literal.ts";
export type { ArrayQuery, Pool, PoolClient, Queryable, QueryResult } from "./pool.ts";
export { createPool } from "./pool.ts";
export { statement } from "./statement.ts";

interface TxState {
  client: PoolClient;
  hooks: (() => unknown)[];
}

const txStorage = new AsyncLocalStorage<TxState>();
let poolPromise: Promise<Pool> | undefined;

/** The process's pool, created on first use from config. */
export function pool(): Promise<Pool> {
  poolPromise ??= (() => {
    const c = config();
    return createPool({
      url: c.databaseUrl,
      driver: c.dbDriver,
      max: c.dbPoolMax,
      statementTimeoutMs: c.dbStatementTimeoutMs,
      connectTimeoutMs: c.dbConnectTimeoutMs,
      queryTimeoutMs: c.dbQueryTimeoutMs,
    });
  })();
  return poolPromise;
}

/** Use a pool made elsewhere (the test harness, or a second "instance" in a test). */
export function setPool(p: Pool | undefined): void {
  poolPromise = p ? Promise.resolve(p) : undefined;
}

export async function closePool(): Promise<void> {
  const p = poolPromise;
  poolPromise = undefined;
  if (p) await (await p).end();
}

/**
 * A statement of a hot path (claiming and completing items): sent by name, so each connection
 * parses and plans it once instead of on every call. `DB_PREPARE=false` sends it as plain text
 * (for a pooler that cannot keep prepared statements; PgBouncer before 1.21).
 *
 * @example
 *   const claimSql = prepared("jobs_claim", "select ...");
 *   await query(claimSql, [jobId]);
 */
export interface Prepared {
  readonly name: string;
  readonly text: string;
}
export const prepared = (name: string, text: string): Prepared => ({ name, text });

function send<R>(q: Queryable, sql: string | Prepared, params: readonly unknown[]): Promise<QueryResult<R>> {
  if (typeof sql === "string") return q.query<R>(sql, params);
  if (!config().dbPrepare) return q.query<R>(sql.text, params);
  return q.query<R>({ name: sql.name, text: sql.text, values: params });
}

/** Run one statement: on the ambient transaction if there is one, else on the pool. */
export async function query<R = Record<string, unknown>>(
  sql: string | Prepared,
  params: readonly unknown[] = [],
): Promise<QueryResult<R>> {
  const tx = txStorage.getStore();
  try {
    if (tx) return await send<R>(tx.client, sql, params);
    return await send<R>(await pool(), sql, params);
  } catch (e) {
    // Inside a transaction keep the raw error so withTx can see a serialization failure.
    if (tx) throw e;
    throw coerceError(e);
  }
}

/**
 * Run one statement, its rows as arrays in column order (`select a, b` gives `[a, b]`): the
 * driver builds no object per row, which a read of thousands of rows pays for (the replay
 * verifier's read of a run's ops). On the ambient transaction if there is one.
 *
 * @example
 *   const rows = await queryArrays<[string, number]>("select id, n from t where tenant_id = $1", [tenantId]);
 */
export async function queryArrays<R extends readonly unknown[]>(
  sql: string,
  params: readonly unknown[] = [],
): Promise<R[]> {
  const tx = txStorage.getStore();
  const q = { text: sql, values: params, rowMode: "array" as const };
  try {
    if (tx) return (await tx.client.query<R>(q)).rows;
    return (await (await pool()).query<R>(q)).rows;
  } catch (e) {
    if (tx) throw e;
    throw coerceError(e);
  }
}

export function inTransaction(): boolean {
  return txStorage.getStore() !== undefined;
}

/**
 * Run `fn` outside the ambient transaction: its statements go to the pool, commit on their own
 * and survive the caller's rollback (a failure record is a fact whatever the caller's work does).
 */
export function outsideTransaction<T>(fn: () => T): T {
  return txStorage.exit(fn);
}

/**
 * Register work to run after the ambient transaction commits; outside a transaction it starts at
 * once, beside the caller, and the handler kits finish it before the invocation ends
 * (`inBackground`: Lambda freezes the process once a handler returns). A failing hook is logged,
 * never thrown back at a caller whose data is already committed.
 */
export function afterCommit(fn: () => unknown): void {
  const tx = txStorage.getStore();
  if (tx) tx.hooks.push(fn);
  else inBackground(runHook(fn));
}

async function runHook(fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    log.error("afterCommit hook failed", { err: e });
  }
}

export interface TxOptions {
  isolation?: "read committed" | "repeatable read" | "serializable";
  /** How many times a serialization failure or deadlock is retried (default: DB_TX_RETRIES). */
  retries?: number;
}

/**
 * Run `fn` in a transaction. A nested call joins the outer transaction. Serialization failures
 * and deadlocks roll back and run `fn` again with a short jittered backoff; any other error rolls
 * back and is rethrown as an AppError. `afterCommit` hooks run, in order, once COMMIT returned.
 *
 * A connection that dies under the transaction (killed, reset, silent past DB_QUERY_TIMEOUT_MS)
 * fails it with 503 `db.unavailable` / `db.shutdown` and is closed, not pooled. It is not retried:
 * when COMMIT itself was cut off, whether it took effect is unknown.
 */
export async function withTx<T>(fn: () => Promise<T>, options: TxOptions = {}): Promise<T> {
  if (txStorage.getStore()) return fn();
  const retries = options.retries ?? config().dbTxRetries;
  for (let attempt = 0; ; attempt++) {
    const client = await (await pool()).connect().catch((e: unknown) => {
      throw coerceError(e);
    });
    const state: TxState = { client, hooks: [] };
    try {
      await client.query(options.isolation ? `begin isolation level ${options.isolation}` : "begin");
      const result = await txStorage.run(state, fn);
      await client.query("commit");
      client.release();
      for (const hook of state.hooks) await runHook(hook);
      return result;
    } catch (e) {
      if (client.broken || isConnectionFailure(e)) client.release(e as Error);
      else {
        const rolledBack = await client.query("rollback").then(
          () => true,
          () => false,
        );
        client.release(!rolledBack);
      }
      if (isRetryableTxError(e) && attempt < retries) {
        await clock().sleep(Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      throw coerceError(e);
    }
  }
}
