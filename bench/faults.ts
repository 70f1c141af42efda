/**
 * `npm run bench:faults`: AOS's latency and errors while a dependency fails, against the same
 * routes with nothing failing (the baseline, first row), in one process.
 *
 * AOS runs in-process as `npm start` serves it (the local HTTP server and the real handlers), on
 * a fresh database (aos_bench_faults_<pid>, migrated), with Postgres and Redis each behind a fault
 * proxy (bench/fault-proxy.ts) that DATABASE_URL and REDIS_URL point at. For each fault of `FAULTS`:
 * apply it to its target's proxy, run `--workers` loops per route of `ROUTES` for `--seconds`,
 * revert it, then time how long until each route answers 2xx again. Printed per fault and route:
 * requests, p50 / p99 / max latency, p50 against the baseline's, replies by status, recovery.
 *
 * Targets (exit 1 naming each one missed): with no fault every reply is 2xx; under a Postgres
 * fault every reply of a route is 2xx or 503 (no 500, no 504 from a hung request), frozen within
 * max(DB_QUERY_TIMEOUT_MS, DB_CONNECT_TIMEOUT_MS) + 500 ms, refused within 500 ms, slow with every
 * reply 2xx; every route recovers within 2 s of the revert.
 *
 * Faults and routes are tables: a fault is a row `{ name, target, apply, revert, check }`, a
 * route a row of ROUTES (`uses` names what it needs to answer 2xx). Redis faults check that a
 * route that needs Redis answers 2xx or 503 within 1 s and one that does not keeps its latency
 * (fault-free p50 and p99 plus at most 250 ms).
 *
 * Timeouts default to DB_STATEMENT_TIMEOUT_MS=2000, DB_QUERY_TIMEOUT_MS=3000,
 * DB_CONNECT_TIMEOUT_MS=2000 (set them in the environment to bench others).
 * Flags: --seconds 4  --workers 4  --only "pg frozen,pg slow 200ms"  --keep
 */
import { randomBytes, randomUUID } from "node:crypto";
import { config, setConfig } from "../core/config.ts";
import { type Actor, withContext } from "../core/context.ts";
import * as Credits from "../core/credits/index.ts";
import * as Jobs from "../core/jobs/index.ts";
import { closePool } from "../core/platform/db/index.ts";
import { closeRedis } from "../core/platform/redis.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import { routes } from "../functions/routes.ts";
import { createHttpServer, type LocalHttpServer } from "../local/http-server.ts";
import { createHandlerLoader, Invoker } from "../local/invoke.ts";
import { benchBaseUrl, benchDb } from "./bench-db.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { load, runBench, say, verdict } from "./run.ts";

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = flag("--seconds", 4);
const workers = flag("--workers", 4);
const keep = args.includes("--keep");
const onlyArg = args.indexOf("--only") >= 0 ? args[args.indexOf("--only") + 1] : undefined;

export type Target = "pg" | "redis";

/** What a bench call needs: the server, the tenant's key and a job to read. */
export interface Fixture {
  url: string;
  key: string;
  jobId: string;
}

export interface BenchRoute {
  name: string;
  /** The dependencies the route needs to answer 2xx. */
  uses: readonly Target[];
  request(f: Fixture): { method: string; path: string; body?: unknown };
}

/** Timeouts AOS runs with here (ms): the bounds below come from them. */
export interface Timeouts {
  query: number;
  connect: number;
  /** REDIS_COMMAND_TIMEOUT_MS */
  redis: number;
}

/** The route's replies with no fault (p50 and p99, ms): what "its normal latency" means. */
export interface Baseline {
  p50: number;
  p99: number;
}

export interface Fault {
  name: string;
  target: Target;
  apply(proxy: FaultProxy): Promise<void>;
  revert(proxy: FaultProxy): Promise<void>;
  /** Targets missed by this route's replies under the fault (empty when all are met). */
  check(route: BenchRoute, r: RouteResult, t: Timeouts, baseline?: Baseline): string[];
}

export interface RouteResult {
  ms: number[];
  statuses: Record<number, number>;
}

const p = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const only2xx = (r: RouteResult) => Object.keys(r.statuses).every((s) => Number(s) < 300);
const only2xxOr503 = (r: RouteResult) => Object.keys(r.statuses).every((s) => Number(s) < 300 || s === "503");
const statusList = (r: RouteResult) =>
  Object.entries(r.statuses)
    .map(([s, n]) => `${s}:${n}`)
    .join(" ");

/** A route that needs the fault's target answers 2xx or 503, within `maxMs`; one that does not, 2xx. */
function boundedFailure(target: Target, maxMs: (t: Timeouts) => number | undefined) {
  return (route: BenchRoute, r: RouteResult, t: Timeouts): string[] => {
    const missed: string[] = [];
    if (!route.uses.includes(target)) {
      if (!only2xx(r)) missed.push(`a route without ${target} answered ${statusList(r)}`);
      return missed;
    }
    if (!only2xxOr503(r)) missed.push(`replies other than 2xx or 503: ${statusList(r)}`);
    const bound = maxMs(t);
    const max = Math.max(0, ...r.ms);
    if (bound !== undefined && max > bound) missed.push(`slowest reply ${max.toFixed(0)} ms > ${bound} ms`);
    return missed;
  };
}

/**
 * Redis is a cache and a coordination aid (issue 14): a route that needs it answers 2xx or 503
 * within 1 s; one that does not answers 2xx at its normal latency plus at most 250 ms (p50 and
 * p99 against the fault-free run).
 */
function redisFault(route: BenchRoute, r: RouteResult, _t: Timeouts, base?: Baseline): string[] {
  if (route.uses.includes("redis")) return boundedFailure("redis", () => 1000)(route, r, _t);
  const missed: string[] = [];
  if (!only2xx(r)) missed.push(`a route without redis answered ${statusList(r)}`);
  const sorted = [...r.ms].sort((a, b) => a - b);
  if (base) {
    for (const [q, was] of [
      [0.5, base.p50],
      [0.99, base.p99],
    ] as const) {
      const now = p(sorted, q);
      if (now > was + 250) missed.push(`p${q * 100} ${now.toFixed(0)} ms > ${was.toFixed(0)} + 250 ms`);
    }
  }
  return missed;
}

const none = async () => {};
let resetTimer: NodeJS.Timeout | undefined;

/** Every connection reset now and every `ms` while the load runs. */
function resetEvery(ms: number): Pick<Fault, "apply" | "revert"> {
  return {
    apply: async (proxy) => {
      await proxy.reset();
      resetTimer = setInterval(() => void proxy.reset(), ms);
    },
    revert: async (proxy) => {
      clearInterval(resetTimer);
      await proxy.pass();
    },
  };
}

/** The faults, in order; the first is the baseline. Redis rows go here too (target "redis"). */
export const FAULTS: Fault[] = [
  {
    name: "none",
    target: "pg",
    apply: none,
    revert: none,
    check: (_route, r) => (only2xx(r) ? [] : [`replies other than 2xx: ${statusList(r)}`]),
  },
  {
    name: "pg frozen",
    target: "pg",
    apply: (proxy) => proxy.freeze(),
    revert: (proxy) => proxy.pass(),
    check: boundedFailure("pg", (t) => Math.max(t.query, t.connect) + 500),
  },
  {
    name: "pg refused",
    target: "pg",
    apply: (proxy) => proxy.refuse(),
    revert: (proxy) => proxy.pass(),
    check: boundedFailure("pg", () => 500),
  },
  {
    name: "pg reset",
    target: "pg",
    ...resetEvery(250),
    check: boundedFailure("pg", () => undefined),
  },
  {
    name: "pg slow 200ms",
    target: "pg",
    apply: (proxy) => proxy.slow(200),
    revert: (proxy) => proxy.pass(),
    check: (_route, r) => (only2xx(r) ? [] : [`replies other than 2xx: ${statusList(r)}`]),
  },
  {
    name: "redis frozen",
    target: "redis",
    apply: (proxy) => proxy.freeze(),
    revert: (proxy) => proxy.pass(),
    check: redisFault,
  },
  {
    name: "redis refused",
    target: "redis",
    apply: (proxy) => proxy.refuse(),
    revert: (proxy) => proxy.pass(),
    check: redisFault,
  },
  {
    name: "redis reset",
    target: "redis",
    ...resetEvery(250),
    check: redisFault,
  },
  {
    name: "redis slow 300ms",
    target: "redis",
    // Slower than REDIS_COMMAND_TIMEOUT_MS (200): as good as down for every command.
    apply: (proxy) => proxy.slow(300),
    revert: (proxy) => proxy.pass(),
    check: redisFault,
  },
];

/** The routes measured under every fault. A Redis-using route goes here with `uses: ["pg", "redis"]`. */
export const ROUTES: BenchRoute[] = [
  {
    name: "GET /api/v1/jobs/{id}",
    uses: ["pg"],
    request: (f) => ({ method: "GET", path: `/api/v1/jobs/${f.jobId}` }),
  },
  {
    name: "POST /api/v1/skills/kv_store/execute (get)",
    uses: ["pg", "redis"],
    request: () => ({
      method: "POST",
      path: "/api/v1/skills/kv_store/execute",
      body: { args: { op: "get", key: "bench" } },
    }),
  },
];

async function call(f: Fixture, route: BenchRoute): Promise<{ status: number; ms: number }> {
  const { method, path, body } = route.request(f);
  const t0 = performance.now();
  try {
    const res = await fetch(`${f.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${f.key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t0 };
  } catch {
    // The local server itself unreachable (the process would have died): counted as status 0.
    return { status: 0, ms: performance.now() - t0 };
  }
}

/** `workers` loops per route for `ms`; every reply recorded. */
async function drive(f: Fixture, ms: number): Promise<Map<BenchRoute, RouteResult>> {
  const out = new Map<BenchRoute, RouteResult>(ROUTES.map((r) => [r, { ms: [], statuses: {} }]));
  const until = performance.now() + ms;
  await Promise.all(
    ROUTES.flatMap((route) =>
      Array.from({ length: workers }, async () => {
        const res = out.get(route) as RouteResult;
        while (performance.now() < until) {
          const { status, ms: took } = await call(f, route);
          res.ms.push(took);
          res.statuses[status] = (res.statuses[status] ?? 0) + 1;
        }
      }),
    ),
  );
  return out;
}

/** Milliseconds until `route` answers 2xx again (undefined: not within `limitMs`). */
async function recovery(f: Fixture, route: BenchRoute, limitMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if ((await call(f, route)).status < 300) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

async function fixture(url: string): Promise<Fixture> {
  const as = <T>(actor: Actor, fn: () => Promise<T>) => {
    const id = randomUUID();
    return withContext({ requestId: id, correlationId: id, actor }, fn);
  };
  const system = { type: "system", name: "bench" } as const;
  const t = await as(system, () =>
    Tenancy.createTenant({
      slug: `faults-${randomBytes(3).toString("hex")}`,
      name: "Faults bench",
      initial_key_role: "agent",
    }),
  );
  if (!t.key) throw new Error("tenant created without its key");
  await as({ ...system, tenantId: t.id }, () => Credits.grant({ tenant_id: t.id, amount: 1_000_000, reason: "bench" }));
  const agent: Actor = { type: "key", keyId: t.key.id, tenantId: t.id, role: "agent" };
  const job = await as(agent, () =>
    Jobs.spawn({
      task: "external",
      items: [{ input: { n: 1 } }],
      parallelism: 1,
      credits_per_item: 1,
      max_attempts: 1,
      item_timeout_s: 60,
    }),
  );
  return { url, key: t.key.key, jobId: job.id };
}

const db = benchDb("faults");
const stage = `bench-faults-${process.pid}`;
let baseUrl = "";
let server: LocalHttpServer | undefined;
const proxies: Partial<Record<Target, FaultProxy>> = {};

async function cleanup(): Promise<void> {
  clearInterval(resetTimer);
  await server?.close().catch(() => {});
  await Promise.allSettled(Object.values(proxies).map((x) => x?.pass()));
  await Promise.allSettled([closePool(), closeRedis()]);
  await Promise.allSettled(Object.values(proxies).map((x) => x?.close()));
  if (baseUrl && !keep) await db.drop(baseUrl).catch((e) => console.error(`could not drop: ${e.message}`));
}

async function main(): Promise<number> {
  const faults = onlyArg ? FAULTS.filter((f) => f.name === "none" || onlyArg.split(",").includes(f.name)) : FAULTS;
  baseUrl = benchBaseUrl();
  const dbUrl = await db.create(baseUrl);
  const pgAt = new URL(dbUrl);
  const redisAt = new URL(config().redisUrl);
  proxies.pg = await startFaultProxy({ host: pgAt.hostname, port: Number(pgAt.port || 5432) });
  proxies.redis = await startFaultProxy({ host: redisAt.hostname, port: Number(redisAt.port || 6379) });
  const viaProxy = (u: URL, proxy: FaultProxy) => {
    const v = new URL(u);
    v.host = proxy.address;
    return v.toString();
  };
  setConfig({
    STAGE: stage,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    DATABASE_URL: viaProxy(pgAt, proxies.pg),
    REDIS_URL: viaProxy(redisAt, proxies.redis),
    DB_STATEMENT_TIMEOUT_MS: process.env.DB_STATEMENT_TIMEOUT_MS ?? "2000",
    DB_QUERY_TIMEOUT_MS: process.env.DB_QUERY_TIMEOUT_MS ?? "3000",
    DB_CONNECT_TIMEOUT_MS: process.env.DB_CONNECT_TIMEOUT_MS ?? "2000",
  });
  const c = config();
  const timeouts: Timeouts = {
    query: c.dbQueryTimeoutMs,
    connect: c.dbConnectTimeoutMs,
    redis: c.redisCommandTimeoutMs,
  };
  const invoker = new Invoker(createHandlerLoader(), { app: "aos", stage, region: c.sqs.region });
  server = createHttpServer({ routes, invoker });
  const addr = await server.listen(0, "127.0.0.1");
  const f = await fixture(`http://127.0.0.1:${addr.port}`);

  console.log(`bench:faults, ${workers} worker(s) per route for ${seconds} s per fault; ${load()}`);
  say(
    `DB_STATEMENT_TIMEOUT_MS ${c.dbStatementTimeoutMs}, DB_QUERY_TIMEOUT_MS ${timeouts.query}, ` +
      `DB_CONNECT_TIMEOUT_MS ${timeouts.connect}, DB_POOL_MAX ${c.dbPoolMax}, ` +
      `REDIS_COMMAND_TIMEOUT_MS ${timeouts.redis}, REDIS_BACKOFF_MS ${c.redisBackoffMs}`,
  );
  await drive(f, 500); // warm: handlers imported, connections open, the key cached
  const missed: string[] = [];
  const rows: string[][] = [];
  const baseline = new Map<BenchRoute, Baseline>();
  for (const fault of faults) {
    const proxy = proxies[fault.target] as FaultProxy;
    await fault.apply(proxy);
    const results = await drive(f, seconds * 1000);
    await fault.revert(proxy);
    for (const route of ROUTES) {
      const r = results.get(route) as RouteResult;
      const sorted = [...r.ms].sort((a, b) => a - b);
      const p50 = p(sorted, 0.5);
      if (fault.name === "none") baseline.set(route, { p50, p99: p(sorted, 0.99) });
      const base = baseline.get(route);
      const recovered = await recovery(f, route, 2_000);
      if (recovered === undefined) missed.push(`${fault.name} / ${route.name}: no 2xx within 2 s of the revert`);
      for (const m of fault.check(route, r, timeouts, base)) missed.push(`${fault.name} / ${route.name}: ${m}`);
      rows.push([
        fault.name,
        route.name,
        String(sorted.length),
        p50.toFixed(1),
        p(sorted, 0.99).toFixed(1),
        (sorted.at(-1) ?? 0).toFixed(1),
        base ? (p50 / base.p50).toFixed(1) : "-",
        statusList(r),
        recovered === undefined ? "no" : `${recovered.toFixed(0)} ms`,
      ]);
    }
  }
  const head = ["fault", "route", "n", "p50 ms", "p99 ms", "max ms", "p50 / none", "replies", "recovered"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join("  ");
  console.log(`\n${line(head)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const r of rows) console.log(line(r));
  console.log(`\n${load()}`);
  return verdict(missed);
}

await runBench(main, cleanup);
