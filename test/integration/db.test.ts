import { describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { afterCommit, createPool, query, queryArrays, withTx } from "../../core/platform/db/index.ts";
import { asOwner } from "../setup/db-roles.ts";

describe("withTx", () => {
  it("gives rows as arrays in column order with queryArrays, outside and inside a transaction", async () => {
    const sql = "select CAST($1 AS integer) as a, CAST($2 AS text) as b, CAST('{\"k\": 1}' AS jsonb) as c";
    expect(await queryArrays(sql, [7, "x"])).toEqual([[7, "x", { k: 1 }]]);
    expect(await withTx(() => queryArrays(sql, [8, "y"]))).toEqual([[8, "y", { k: 1 }]]);
    await expect(queryArrays("select no_such_column")).rejects.toBeInstanceOf(AppError);
  });

  it("commits, then runs afterCommit hooks in order", async () => {
    const seen: string[] = [];
    await asOwner("create table t_commit (id int primary key)");
    await withTx(async () => {
      await query("insert into t_commit values (1)");
      afterCommit(() => seen.push("a"));
      afterCommit(() => seen.push("b"));
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual(["a", "b"]);
    expect((await query("select count(*)::int as n from t_commit")).rows[0]).toEqual({ n: 1 });
  });

  it("rolls back on error and skips afterCommit hooks", async () => {
    const seen: string[] = [];
    await asOwner("create table t_rollback (id int primary key)");
    await expect(
      withTx(async () => {
        await query("insert into t_rollback values (1)");
        afterCommit(() => seen.push("never"));
        await query("insert into t_rollback values (1)");
      }),
    ).rejects.toMatchObject({ kind: "conflict", code: "db.unique_violation" });
    expect(seen).toEqual([]);
    expect((await query("select count(*)::int as n from t_rollback")).rows[0]).toEqual({ n: 0 });
  });

  it("retries a serialization failure and succeeds", async () => {
    await asOwner("create table t_ser (id int primary key, v int)");
    await query("insert into t_ser values (1, 0)");
    let attempts = 0;
    // Two serializable transactions read and write the same row; one of them must be retried.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const bump = (waitGate: boolean) =>
      withTx(
        async () => {
          attempts++;
          const { rows } = await query<{ v: number }>("select v from t_ser where id = 1");
          if (waitGate) await gate;
          await query("update t_ser set v = $1 where id = 1", [(rows[0]?.v ?? 0) + 1]);
        },
        { isolation: "serializable" },
      );
    const first = bump(true);
    await new Promise((r) => setTimeout(r, 50));
    await bump(false);
    release();
    await first;
    expect(attempts).toBe(3);
    expect((await query("select v from t_ser where id = 1")).rows[0]).toEqual({ v: 2 });
  });

  it("maps a statement timeout to a timeout AppError", async () => {
    const err = await withTx(async () => {
      await query("set local statement_timeout = 50");
      await query("select pg_sleep(1)");
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ kind: "timeout", code: "db.statement_timeout" });
  });

  it("sends statement_timeout as a startup parameter, or none when it is 0", async () => {
    const show = async (ms: number) => {
      const p = await createPool({ url: config().databaseUrl, driver: "pg", max: 1, statementTimeoutMs: ms });
      try {
        return (await p.query<{ statement_timeout: string }>("show statement_timeout")).rows[0]?.statement_timeout;
      } finally {
        await p.end();
      }
    };
    expect(await show(1500)).toBe("1500ms");
    expect(await show(0)).toBe("0"); // the server default (no timeout) applies
  });
});
