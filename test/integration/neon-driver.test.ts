/**
 * Neon's serverless driver (WebSocket Pool, DB_DRIVER=neon) against the local Postgres through
 * a WebSocket-to-TCP proxy: the same pool code and the same withTx as in production on Neon.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import {
  afterCommit,
  createPool,
  type Pool,
  query,
  queryArrays,
  setPool,
  withTx,
} from "../../core/platform/db/index.ts";
import { asOwner } from "../setup/db-roles.ts";
import { startWsProxy, type WsProxy } from "../setup/ws-proxy.ts";

let proxy: WsProxy;
let neonPool: Pool;

beforeAll(async () => {
  proxy = await startWsProxy();
  neonPool = await createPool({
    url: config().databaseUrl,
    driver: "neon",
    max: 4,
    statementTimeoutMs: 7_000,
    neonWsProxy: proxy.wsProxy,
    applicationName: "aos-neon-test",
  });
  setPool(neonPool);
});

afterAll(async () => {
  setPool(undefined);
  await neonPool?.end();
  await proxy?.close();
});

describe("Neon WebSocket pool", () => {
  it("answers a simple query through the WebSocket proxy, with pool options applied", async () => {
    const before = proxy.connections();
    const { rows } = await neonPool.query<{ n: number; app: string; timeout: string }>(
      "select 1 + 1 as n, current_setting('application_name') as app, current_setting('statement_timeout') as timeout",
    );
    expect(rows).toEqual([{ n: 2, app: "aos-neon-test", timeout: "7s" }]);
    // The pool may reuse an idle connection opened by an earlier test, so count all of them.
    expect(proxy.connections()).toBeGreaterThanOrEqual(Math.max(1, before));
  });

  it("parses bigint (int8) the same way as the pg driver", async () => {
    const { rows } = await query<{ n: unknown }>("select count(*) as n from generate_series(1, 3)");
    expect(rows[0]?.n).toBe(3);
  });

  it("gives rows as arrays in column order with queryArrays, outside and inside a transaction", async () => {
    const sql = "select CAST($1 AS integer) as a, CAST($2 AS text) as b, CAST('{\"k\": 1}' AS jsonb) as c";
    expect(await queryArrays(sql, [7, "x"])).toEqual([[7, "x", { k: 1 }]]);
    expect(await withTx(() => queryArrays(sql, [8, "y"]))).toEqual([[8, "y", { k: 1 }]]);
  });

  it("commits an interactive transaction via withTx and runs afterCommit hooks after it", async () => {
    await asOwner("create table neon_commit (id int primary key, v text)");
    const seen: string[] = [];
    const out = await withTx(async () => {
      await query("insert into neon_commit values (1, 'a')");
      // Interactive: a read inside the transaction sees its own uncommitted write.
      const { rows } = await query<{ v: string }>("select v from neon_commit where id = 1");
      afterCommit(() => seen.push("committed"));
      expect(seen).toEqual([]);
      return rows[0]?.v;
    });
    expect(out).toBe("a");
    expect(seen).toEqual(["committed"]);
    expect((await query("select count(*) as n from neon_commit")).rows[0]).toEqual({ n: 1 });
  });

  it("rolls back when the function throws, and skips afterCommit hooks", async () => {
    await asOwner("create table neon_rollback (id int primary key)");
    const seen: string[] = [];
    const err = await withTx(async () => {
      await query("insert into neon_rollback values (1)");
      afterCommit(() => seen.push("never"));
      throw new Error("boom");
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).cause).toMatchObject({ message: "boom" });
    expect(seen).toEqual([]);
    expect((await query("select count(*) as n from neon_rollback")).rows[0]).toEqual({ n: 0 });
  });

  it("maps a unique violation to a conflict AppError and leaves nothing behind", async () => {
    await asOwner("create table neon_unique (id int primary key)");
    const err = await withTx(async () => {
      await query("insert into neon_unique values (1)");
      await query("insert into neon_unique values (1)");
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      kind: "conflict",
      code: "db.unique_violation",
      details: { constraint: "neon_unique_pkey" },
    });
    expect((await query("select count(*) as n from neon_unique")).rows[0]).toEqual({ n: 0 });
    // Outside a transaction, query() coerces the driver's error the same way.
    await query("insert into neon_unique values (2)");
    await expect(query("insert into neon_unique values (2)")).rejects.toMatchObject({ kind: "conflict" });
  });
});
