/**
 * One pool interface over node-postgres (`DB_DRIVER=pg`, the default) and Neon's serverless
 * driver (`DB_DRIVER=neon`, a WebSocket Pool that speaks the same API and keeps interactive
 * transactions). Neon's module is loaded only when asked for.
 */
import pg from "pg";

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

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  query<R = Record<string, unknown>>(named: NamedQuery): Promise<QueryResult<R>>;
}

export interface PoolClient extends Queryable {
  release(destroy?: boolean | Error): void;
}

export interface Pool extends Queryable {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
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
    connectionTimeoutMillis: 5_000,
    application_name: o.applicationName ?? "aos",
  };
  let pool: Pool;
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
    pool = new neon.Pool(common) as unknown as Pool;
  } else {
    pool = new pg.Pool(common) as unknown as Pool;
  }
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query reconnects.
  pool.on("error", () => {});
  return pool;
}
