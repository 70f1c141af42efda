/**
 * Postgres faults under load, through the real HTTP handlers (`invoke`, as API Gateway calls
 * them): workers spawn jobs and read them back while AOS's connections are killed with
 * pg_terminate_backend, or while the fault proxy (bench/fault-proxy.ts) between AOS and Postgres
 * freezes, refuses, resets or slows them. Every reply is a success or a retryable 503 with
 * Retry-After, within a measured bound; the next request after the fault is served; and no
 * accepted write is lost or half made (test/setup/fault-load.ts).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../bench/fault-proxy.ts";
import { config } from "../../core/config.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import {
  type Call,
  checkWrites,
  expectSuccessOr503,
  type Outcome,
  startLoad,
  type TenantRows,
  tenantRows,
} from "../setup/fault-load.ts";
import { testDb } from "../setup/per-file.ts";

const env = inject("aos");
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: `${env.pgBase}/postgres`, application_name: "aos-test-admin" });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call: Call = (method, path, o) => invoke(method, path, o);

/** A tenant of its own (so its rows count only this scenario's writes), its agent key, rows now. */
async function scenario(): Promise<{ tenantId: string; key: string; before: TenantRows }> {
  const t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 1_000_000);
  return { tenantId: t.tenant.id, key: t.keys.agent.key, before: await tenantRows(t.tenant.id) };
}

const summary = (outcomes: readonly Outcome[]) => {
  const by: Record<string, number> = {};
  for (const o of outcomes) by[o.status] = (by[o.status] ?? 0) + 1;
  const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return `${JSON.stringify(by)}, max ${Math.round(ms.at(-1) ?? 0)} ms`;
};

describe("pg_terminate_backend on AOS's connections during concurrent requests", () => {
  it("fails only the requests on those connections, with 503 and a retryable code; nothing accepted is lost", async () => {
    const s = await scenario();
    const load = startLoad(call, s.key, 6);
    let killed = 0;
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      const { rows } = await admin.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = $1 and application_name = 'aos' and pid <> pg_backend_pid()",
        [testDb],
      );
      for (const { pid } of rows) await admin.query("select pg_terminate_backend($1)", [pid]);
      killed += rows.length;
      await sleep(25);
    }
    const outcomes = await load.stop();
    console.log(`pg_terminate_backend: ${killed} backends killed; replies ${summary(outcomes)}`);
    expect(killed).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o.status === 503).length, summary(outcomes)).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status < 300).length, summary(outcomes)).toBeGreaterThan(0);
    expectSuccessOr503(outcomes);
    // The next request is served.
    const next = await invoke("GET", "/api/v1/jobs", { key: s.key });
    expect(next.status).toBe(200);
    const committedAnyway = await checkWrites(s.tenantId, s.before, outcomes);
    console.log(`pg_terminate_backend: ${committedAnyway} failed spawn(s) had committed`);
  });
});

describe("Postgres behind the fault proxy", () => {
  const timeouts = { statement: 1_000, query: 1_500, connect: 2_000 };
  let proxy: FaultProxy;

  /** Run `fn` with AOS connecting to Postgres through the proxy, with short timeouts. */
  async function throughProxy(fn: () => Promise<void>): Promise<void> {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: Number(new URL(env.pgBase).port || 5432) });
    const url = new URL(config().databaseUrl);
    url.host = proxy.address;
    try {
      await withConfig(
        {
          DATABASE_URL: url.toString(),
          DB_STATEMENT_TIMEOUT_MS: String(timeouts.statement),
          DB_QUERY_TIMEOUT_MS: String(timeouts.query),
          DB_CONNECT_TIMEOUT_MS: String(timeouts.connect),
        },
        fn,
      );
    } finally {
      await proxy.close();
    }
  }

  /** Load for `ms` under the fault `apply`, then `pass()` and a request that must be served. */
  async function under(apply: () => Promise<void>, ms: number, workers = 4) {
    const s = await scenario();
    const warm = startLoad(call, s.key, 4);
    await sleep(300);
    const before = await warm.stop();
    expect(before.every((o) => o.status < 300)).toBe(true);
    await apply();
    const load = startLoad(call, s.key, workers);
    await sleep(ms);
    const outcomes = await load.stop();
    await proxy.pass();
    const next = await invoke("GET", "/api/v1/jobs", { key: s.key });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    const all = [...before, ...outcomes];
    const committedAnyway = await checkWrites(s.tenantId, s.before, all);
    return { outcomes, committedAnyway };
  }

  it("frozen: every request answers 503 within the query or connect timeout, then recovers", async () => {
    await throughProxy(async () => {
      const { outcomes, committedAnyway } = await under(() => proxy.freeze(), 4_000);
      const max = Math.max(...outcomes.map((o) => o.ms));
      console.log(`pg frozen: replies ${summary(outcomes)}; ${committedAnyway} failed spawn(s) committed on pass`);
      expect(outcomes.length).toBeGreaterThan(3);
      expect(outcomes.every((o) => o.status === 503)).toBe(true);
      expectSuccessOr503(outcomes);
      // One statement or one connection attempt, whichever fails first, plus the request's own work.
      expect(max).toBeLessThan(Math.max(timeouts.query, timeouts.connect) + 750);
    });
  });

  it("refused: requests answer 503 at once, then recover when Postgres is back", async () => {
    await throughProxy(async () => {
      const { outcomes } = await under(() => proxy.refuse(), 1_500);
      const max = Math.max(...outcomes.map((o) => o.ms));
      console.log(`pg refused: replies ${summary(outcomes)}`);
      expect(outcomes.length).toBeGreaterThan(3);
      expect(outcomes.every((o) => o.status === 503)).toBe(true);
      expectSuccessOr503(outcomes);
      // Far under the connect timeout: a refused connection is not waited for.
      expect(max).toBeLessThan(timeouts.connect / 2);
    });
  });

  it("reset: the requests in flight fail with 503, the next ones are served; nothing accepted is lost", async () => {
    await throughProxy(async () => {
      const { outcomes, committedAnyway } = await under(async () => {
        // Reset every connection, three times while the load runs.
        setTimeout(() => void proxy.reset(), 200);
        setTimeout(() => void proxy.reset(), 700);
        setTimeout(() => void proxy.reset(), 1_200);
      }, 1_800);
      console.log(`pg reset: replies ${summary(outcomes)}; ${committedAnyway} failed spawn(s) committed`);
      expect(proxy.accepted()).toBeGreaterThan(4);
      expect(outcomes.filter((o) => o.status === 503).length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => o.status < 300).length).toBeGreaterThan(0);
      expectSuccessOr503(outcomes);
    });
  });

  it("slow (200 ms each way): every request succeeds, slower by the round trips it makes", async () => {
    await throughProxy(async () => {
      // One worker: spawns of one tenant queue on its balance row, and 400 ms round trips inside
      // the transaction would make the waiters' statements time out (504), as they should.
      const { outcomes } = await under(() => proxy.slow(200), 4_000, 1);
      const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
      console.log(`pg slow 200 ms: replies ${summary(outcomes)}, min ${Math.round(ms[0] ?? 0)} ms`);
      expect(outcomes.length).toBeGreaterThanOrEqual(2);
      expect(outcomes.every((o) => o.status < 300)).toBe(true);
      // At least one round trip (400 ms) each; none past the query timeout of one statement.
      expect(ms[0]).toBeGreaterThanOrEqual(400);
    });
  });
});
