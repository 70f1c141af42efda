/**
 * One pool interface over node-postgres (`DB_DRIVER=pg`, the default) and Neon's serverless
 * driver (`DB_DRIVER=neon`, a WebSocket Pool that speaks the same API and keeps interactive
 * transactions). Neon's module is loaded only when asked for.
 */
import pg from "pg";
import { ConnectionLostError, isConnectionFailure } from "./errors.ts";

export interface QueryResult<R> {
  rows: R[];
  rowCount: number | null;
}

/** A named statement: Postgres parses and plans it once per connection, then only executes it. */
export interface NamedQuery {
  name: string;
  text: string;
  values: readonly unknown[];
}

/** A statement whose rows come back as arrays in column order (the driver builds no object per row). */
export interface ArrayQuery {
  text: string;
  values: readonly unknown[];
  rowMode: "array";
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  query<R = Record<string, unknown>>(named: NamedQuery): Promise<QueryResult<R>>;
  query<R = unknown[]>(arrays: ArrayQuery): Promise<QueryResult<R>>;
}

export interface PoolClient extends Queryable {
  /** Back to the pool; with an error (or `true`) the connection is closed instead. */
  release(destroy?: boolean | Error): void;
  /** The connection was lost (killed, reset) or stopped answering: it is closed on release. */
  readonly broken: boolean;
  /** The driver's own client, for a pg "submittable" such as the COPY stream. */
  readonly driverClient: unknown;
}

export interface Pool extends Queryable {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
}

export interface PoolOptions {
  url: string;
  driver: "pg" | "neon";
  max: number;
  statementTimeoutMs: number;
  /** Neon only: hook to route the WebSocket elsewhere (tests proxy it to local Postgres). */
  neonWsProxy?: (host: string, port: number | string) => string;
  neonSecure?: boolean;
  applicationName?: string;
  /** How long a caller waits for a connection (a free one, or a new one). Default 5000. */
  connectTimeoutMs?: number;
  /**
   * Client-side bound of one statement's round trip: past it the statement fails with
   * `ConnectionLostError` and the connection is closed (a database or network that stopped
   * answering never trips the server's statement_timeout). 0: none (the default).
   */
  queryTimeoutMs?: number;
}

// Postgres bigint (int8) and numeric come back as strings by default; counts and credits in AOS
// fit in a JS number, so int8 is parsed. numeric stays a string to keep exact decimals.
// The Neon driver bundles its own copy of pg-types: the parser is set there too when it loads.
const INT8_OID = 20;
const parseInt8 = (v: string) => Number.parseInt(v, 10);
pg.types.setTypeParser(INT8_OID, parseInt8);

export async function createPool(o: PoolOptions): Promise<Pool> {
  const common = {
    connectionString: o.url,
    max: o.max,
    // Sent as a startup parameter. PgBouncer-style poolers may refuse unknown startup
    // parameters: with 0 nothing is sent and the role's own setting applies
    // (ALTER ROLE ... SET statement_timeout = '15s'), see docs/deploy.md.
    ...(o.statementTimeoutMs > 0 ? { statement_timeout: o.statementTimeoutMs } : {}),
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
    application_name: o.applicationName ?? "aos",
  };
  let raw: DriverPool;
  if (o.driver === "neon") {
    const neon = await import("@neondatabase/serverless");
    const { default: ws } = await import("ws");
    neon.neonConfig.webSocketConstructor = ws;
    neon.types.setTypeParser(INT8_OID, parseInt8);
    if (o.neonWsProxy) {
      neon.neonConfig.wsProxy = o.neonWsProxy;
      neon.neonConfig.useSecureWebSocket = o.neonSecure ?? false;
      neon.neonConfig.pipelineTLS = false;
      neon.neonConfig.pipelineConnect = false;
    }
    raw = new neon.Pool(common) as unknown as DriverPool;
  } else {
    raw = new pg.Pool(common) as unknown as DriverPool;
  }
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would crash the process. The pool has already dropped it; the next query connects anew.
  raw.on("error", () => {});
  return new GuardedPool(raw, o.queryTimeoutMs ?? 0);
}

/** The parts of a driver's (pg's or Neon's) pool and client that are used here. */
interface DriverClient {
  query(...args: unknown[]): Promise<QueryResult<never>>;
  release(destroy?: boolean | Error): void;
  on(event: "error", listener: (this: DriverClient, err: Error) => void): unknown;
  removeListener(event: "error", listener: (this: DriverClient, err: Error) => void): unknown;
  connection?: { stream?: { destroy?: () => void } };
}
interface DriverPool {
  connect(): Promise<DriverClient>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "acquire", listener: (client: DriverClient) => void): unknown;
  on(event: "release", listener: (err: unknown, client: DriverClient) => void): unknown;
}

/** The error that ended a checked-out client's connection, recorded by `recordLoss`. */
const lostConnections = new WeakMap<DriverClient, Error>();

/** The 'error' listener of a checked-out client (one function for all: `this` is the client). */
function recordLoss(this: DriverClient, err: Error): void {
  if (!lostConnections.has(this)) lostConnections.set(this, err);
}

/**
 * Every client the pool hands out listens for 'error' from the moment it is acquired until it is
 * back in the pool. A connection killed while checked out emits 'error' (and an EventEmitter
 * 'error' with no listener is an uncaught exception: the process ends). The pool's own listener
 * covers idle clients only, and a new client is without one from its acquisition until the
 * caller's code runs: a backend killed right as it became ready sends its FATAL in the same
 * socket read as its ReadyForQuery, so the pool's 'acquire' event, synchronous with the
 * acquisition, is the only place early enough.
 */
function guardCheckouts(raw: DriverPool): void {
  raw.on("acquire", (client) => {
    lostConnections.delete(client);
    client.removeListener("error", recordLoss);
    client.on("error", recordLoss);
  });
  // Emitted once the pool's idle listener is back on the client.
  raw.on("release", (_err, client) => {
    client.removeListener("error", recordLoss);
  });
}

/**
 * A checked-out connection: each statement is bounded by the query timeout, and once the
 * connection failed (lost, or silent past the timeout) it is closed on release, never pooled.
 */
class GuardedClient implements PoolClient {
  private timedOut: Error | undefined;

  constructor(
    private readonly raw: DriverClient,
    private readonly queryTimeoutMs: number,
  ) {}

  private get lost(): Error | undefined {
    return this.timedOut ?? lostConnections.get(this.raw);
  }

  get broken(): boolean {
    return this.lost !== undefined;
  }

  get driverClient(): unknown {
    return this.raw;
  }

  query<R>(...args: [string, (readonly unknown[])?] | [NamedQuery] | [ArrayQuery]): Promise<QueryResult<R>> {
    const lost = this.lost;
    if (lost) return Promise.reject(new ConnectionLostError("the database connection was lost", { cause: lost }));
    const sent = this.raw.query(...args) as Promise<QueryResult<R>>;
    const ms = this.queryTimeoutMs;
    return new Promise<QueryResult<R>>((resolve, reject) => {
      const timer =
        ms > 0
          ? setTimeout(() => {
              const err = new ConnectionLostError(
                `the database did not answer within ${ms} ms (DB_QUERY_TIMEOUT_MS); the connection is closed`,
              );
              this.timedOut ??= err;
              // The statement is still on the wire: only closing the socket frees the connection.
              this.raw.connection?.stream?.destroy?.();
              reject(err);
            }, ms)
          : undefined;
      sent.then(
        (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        (e: unknown) => {
          clearTimeout(timer);
          if (isConnectionFailure(e) && !lostConnections.has(this.raw)) lostConnections.set(this.raw, e as Error);
          // "not queryable" and the like say nothing useful: name what happened, keep the cause.
          const hasSqlState = /^[0-9A-Z]{5}$/.test(String((e as { code?: unknown } | null)?.code ?? ""));
          const lostNow = this.lost;
          reject(
            lostNow && !hasSqlState && !(e instanceof ConnectionLostError)
              ? new ConnectionLostError("the database connection was lost", { cause: lostNow })
              : e,
          );
        },
      );
    });
  }

  release(destroy?: boolean | Error): void {
    this.raw.release(this.lost ?? destroy);
  }
}

class GuardedPool implements Pool {
  constructor(
    private readonly raw: DriverPool,
    private readonly queryTimeoutMs: number,
  ) {
    guardCheckouts(raw);
  }

  async connect(): Promise<PoolClient> {
    return new GuardedClient(await this.raw.connect(), this.queryTimeoutMs);
  }

  /** One statement on a connection of its own; a connection that failed is closed, not pooled. */
  async query<R>(...args: [string, (readonly unknown[])?] | [NamedQuery] | [ArrayQuery]): Promise<QueryResult<R>> {
    const client = await this.connect();
    try {
      const result = await client.query<R>(...(args as [string]));
      client.release();
      return result;
    } catch (e) {
      client.release(isConnectionFailure(e) ? (e as Error) : undefined);
      throw e;
    }
  }

  end(): Promise<void> {
    return this.raw.end();
  }
}
