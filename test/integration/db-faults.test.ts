/**
 * Postgres connections that die under AOS: `pg_terminate_backend` on the connection of a
 * transaction, of a COPY export and of the migrator, and a database that stops answering (the
 * fault proxy, bench/fault-proxy.ts). Each must fail only its own operation, with a retryable
 * `unavailable` AppError, never with an unhandled 'error' event (which ends the process), and the
 * pool must serve the next query on a fresh connection.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startFaultProxy } from "../../bench/fault-proxy.ts";
import { config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { copyOut, createPool, pool, query, withTx } from "../../core/platform/db/index.ts";
import { Migrator } from "../../core/platform/db/migrator.ts";
import { withConfig } from "../setup/config-override.ts";
import { asOwner } from "../setup/db-roles.ts";
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

const terminate = (pid: number) => admin.query("select pg_terminate_backend($1)", [pid]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the backend `pid` runs a statement matching `like` (so a kill lands mid-statement). */
async function untilRunning(pid: number, like: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query("select 1 from pg_stat_activity where pid = $1 and query like $2", [pid, like]);
    if (rows.length) return;
    await sleep(10);
  }
  throw new Error(`backend ${pid} never ran ${like}`);
}

const backendPid = async () => (await query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]?.pid as number;

function expectUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ kind: "unavailable", status: 503, retryable: true });
  expect((err as AppError).code).toMatch(/^db\.(unavailable|shutdown)$/);
  expect((err as AppError).retryAfterS).toBeGreaterThan(0);
}

describe("a connection killed with pg_terminate_backend", () => {
  it("between two statements of a transaction fails that transaction only, then the pool serves", async () => {
    await asOwner("create table t_killed_idle (id int primary key)");
    const err = await withTx(async () => {
      await query("insert into t_killed_idle values (1)");
      await terminate(await backendPid());
      await sleep(100); // the connection's end arrives while the transaction holds it
      await query("insert into t_killed_idle values (2)");
    }).catch((e: unknown) => e);
    expectUnavailable(err);
    expect((await query("select count(*)::int as n from t_killed_idle")).rows[0]).toEqual({ n: 0 });
  });

  it("during a statement of a transaction fails that transaction only", async () => {
    let pid = 0;
    const tx = withTx(async () => {
      pid = await backendPid();
      await query("select pg_sleep(5)");
    }).catch((e: unknown) => e);
    await sleep(50);
    await untilRunning(pid, "select pg_sleep%");
    await terminate(pid);
    expectUnavailable(await tx);
    expect((await query("select 1 as one")).rows[0]).toEqual({ one: 1 });
  });

  it("during a COPY export fails the export only", async () => {
    let pid = 0;
    const spec = { text: "copy (select g, pg_sleep(0.01) from generate_series(1, 1000) g) to stdout" };
    const err = await copyOut(await pool(), spec, async (rows) => {
      for (let i = 0; i < 200 && !pid; i++) {
        const { rows: found } = await admin.query<{ pid: number }>(
          "select pid from pg_stat_activity where datname = $1 and query like 'copy (select g%'",
          [testDb],
        );
        pid = found[0]?.pid ?? 0;
        if (!pid) await sleep(10);
      }
      await terminate(pid);
      await pipeline(rows, async function* (src) {
        for await (const _ of src) yield "";
      });
    }).catch((e: unknown) => e);
    expect(pid).toBeGreaterThan(0);
    expectUnavailable(err);
    expect((await query("select 1 as one")).rows[0]).toEqual({ one: 1 });
  });

  it("during a migration fails that run; the next run applies it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aos-mig-"));
    writeFileSync(
      join(dir, "0001_slow.sql"),
      "-- migrate:up\ncreate table t_mig_killed (id int);\nselect pg_sleep(5);\n-- migrate:down\ndrop table t_mig_killed;\n",
    );
    const p = await createPool({
      url: config().databaseMigrationUrl.replace(/\/[^/]*$/, `/${testDb}`),
      driver: "pg",
      max: 2,
      statementTimeoutMs: 0,
      applicationName: "aos-migrate-test",
    });
    try {
      // The migrator keeps its own table; this file's database already has one from the template.
      await p.query("alter table schema_migrations rename to schema_migrations_real");
      const run = new Migrator(p, dir).up().catch((e: unknown) => e);
      const { rows } = await (async () => {
        for (let i = 0; i < 200; i++) {
          const r = await admin.query<{ pid: number }>(
            "select pid from pg_stat_activity where application_name = 'aos-migrate-test' and query like '%pg_sleep(5)%'",
          );
          if (r.rows.length) return r;
          await sleep(10);
        }
        throw new Error("the migration never ran");
      })();
      await terminate(rows[0]?.pid as number);
      const err = await run;
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/0001_slow\.sql/);
      writeFileSync(
        join(dir, "0001_slow.sql"),
        "-- migrate:up\ncreate table t_mig_killed (id int);\nselect pg_sleep(5);\n-- migrate:down\ndrop table t_mig_killed;\n".replace(
          "pg_sleep(5)",
          "pg_sleep(0)",
        ),
      );
      expect(await new Migrator(p, dir).up()).toEqual([1]);
    } finally {
      await p.query("drop table if exists schema_migrations").catch(() => {});
      await p.query("alter table schema_migrations_real rename to schema_migrations").catch(() => {});
      await p.query("drop table if exists t_mig_killed").catch(() => {});
      await p.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a database that stops answering (fault proxy)", () => {
  it("bounds a query, a transaction and a new connection by the configured timeouts", async () => {
    const proxy = await startFaultProxy({ host: "127.0.0.1", port: Number(new URL(env.pgBase).port || 5432) });
    const url = new URL(config().databaseUrl);
    url.host = proxy.address;
    try {
      await withConfig(
        {
          DATABASE_URL: url.toString(),
          DB_STATEMENT_TIMEOUT_MS: "500",
          DB_QUERY_TIMEOUT_MS: "1000",
          DB_CONNECT_TIMEOUT_MS: "700",
        },
        async () => {
          // Two idle connections in the pool, for the statement and the transaction below.
          await Promise.all([query("select pg_sleep(0.05)"), query("select pg_sleep(0.05)")]);
          await proxy.freeze();
          const timed = async (fn: () => Promise<unknown>) => {
            const t0 = performance.now();
            const err = await fn().catch((e: unknown) => e);
            return { err, ms: performance.now() - t0 };
          };
          // An idle connection of the pool: the statement goes out, nothing comes back.
          const q = await timed(() => query("select 1"));
          const tx = await timed(() => withTx(() => query("select 1")));
          for (const r of [q, tx]) {
            expectUnavailable(r.err);
            expect(r.ms).toBeLessThan(1000 + 700 + 500);
          }
          // New connections: the proxy accepts them, their startup is never answered.
          const fresh = await Promise.all(Array.from({ length: 25 }, () => timed(() => query("select 1"))));
          for (const r of fresh) {
            expectUnavailable(r.err);
            expect(r.ms).toBeLessThan(1000 + 700 + 500);
          }
          console.log(
            `frozen Postgres: query ${q.ms.toFixed(0)} ms, transaction ${tx.ms.toFixed(0)} ms, ` +
              `25 concurrent max ${Math.max(...fresh.map((r) => r.ms)).toFixed(0)} ms`,
          );
          await proxy.pass();
          expect((await query("select 2 as two")).rows[0]).toEqual({ two: 2 });
        },
      );
    } finally {
      await proxy.close();
    }
  });
});

describe("a new connection killed as it becomes ready", () => {
  it("is handed out broken, not left without an 'error' listener (which ended the process)", async () => {
    // The backend's ReadyForQuery and its FATAL 57P01 reach the driver in one socket read: the
    // proxy holds Postgres's answers while the backend is killed, then delivers them at once.
    const proxy = await startFaultProxy({ host: "127.0.0.1", port: Number(new URL(env.pgBase).port || 5432) });
    const url = new URL(config().databaseUrl);
    url.host = proxy.address;
    const p = await createPool({
      url: url.toString(),
      driver: "pg",
      max: 1,
      statementTimeoutMs: 0,
      connectTimeoutMs: 10_000,
      applicationName: "aos-ready-race",
    });
    try {
      await proxy.freeze("toClient");
      const checkout = p.connect();
      let pid = 0;
      for (let i = 0; i < 300 && !pid; i++) {
        const { rows } = await admin.query<{ pid: number }>(
          "select pid from pg_stat_activity where application_name = 'aos-ready-race'",
        );
        pid = rows[0]?.pid ?? 0;
        if (!pid) await sleep(10);
      }
      expect(pid).toBeGreaterThan(0);
      await terminate(pid);
      await sleep(200);
      await proxy.pass();
      const client = await checkout;
      const err = await client.query("select 1").catch((e: unknown) => e);
      client.release();
      expect(client.broken).toBe(true);
      expect(err).toMatchObject({ name: "ConnectionLostError", code: "08006" });
      expect((await p.query("select 1 as one")).rows[0]).toEqual({ one: 1 });
    } finally {
      await p.end();
      await proxy.close();
    }
  });
});
