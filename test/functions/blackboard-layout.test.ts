/**
 * The blackboard's Redis layout (blackboard-scripts.ts): entries written in the layout before
 * (value alone in :data, version in :ver, field names in :kf) are read, listed, aggregated,
 * rewritten, incremented and deleted as before; an entry past its expiry is absent to a write
 * even before the purge reaches it; rewriting unchanged numbers leaves the sums as they were.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Agents from "../../core/agents/index.ts";
import { withContext } from "../../core/context.ts";
import { setClock, systemClock } from "../../core/platform/clock.ts";
import { redis } from "../../core/platform/redis.ts";
import { ShiftedClock } from "../factories/agents.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
const clock = new ShiftedClock();
beforeAll(async () => {
  setClock(clock);
  t = await makeTenantWithKeys();
});
afterAll(() => setClock(systemClock));

const ns = () => `ns-${randomUUID().slice(0, 8)}`;
const asT = <T>(fn: () => Promise<T>) =>
  withContext(
    {
      requestId: "bb",
      correlationId: "bb",
      actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
    },
    fn,
  );
/** A namespace's Redis key as stored (the stage's prefix included), for commands sent as they are. */
const stored = (n: string, suffix: string) => redis().key(`bb:{${t.tenant.id}:${n}}${suffix}`);

describe("entries of the layout before", () => {
  /** What the scripts before this layout left in Redis for a, b, c, d (TTL) and e (expired). */
  async function writeOldLayout(n: string, dExpiresMs: number) {
    const k = (s: string) => stored(n, s);
    const pipe = redis().pipeline();
    pipe.call(["HSET", k(":data"), "a", '{"score":5,"tag":"x"}', "b", "7", "c", '"text"', "d", '{"score":2}']);
    pipe.call(["HSET", k(":data"), "e", '{"score":100}']);
    pipe.call(["HSET", k(":ver"), "a", "3", "b", "1", "c", "2", "d", "1", "e", "1"]);
    pipe.call(["ZADD", k(":idx"), 0, "a", 0, "b", 0, "c", 0, "d", 0, "e"]);
    pipe.call(["HSET", k(":kf"), "a", "score", "b", "value", "d", "score", "e", "score"]);
    pipe.call(["ZADD", k(":f:score"), 5, "a", 2, "d", 100, "e"]);
    pipe.call(["ZADD", k(":f:value"), 7, "b"]);
    pipe.call(["HSET", k(":sum"), "score", "107", "value", "7"]);
    pipe.call(["ZADD", k(":exp"), dExpiresMs, "d", clock.nowMs() - 1, "e"]);
    for (const s of [":data", ":ver", ":idx", ":kf", ":f:score", ":f:value", ":sum", ":exp"])
      pipe.call(["PEXPIRE", k(s), 604_800_000]);
    for (const [err] of await pipe.exec()) expect(err).toBeNull();
  }

  it("are read, listed and aggregated, and become entries of this layout at their next write", async () => {
    const n = ns();
    const dExpires = clock.nowMs() + 3_600_000;
    await writeOldLayout(n, dExpires);

    expect(await asT(() => Agents.boardGet(n, "a"))).toEqual({
      ns: n,
      key: "a",
      value: { score: 5, tag: "x" },
      version: 3,
      expires_at: null,
    });
    expect((await asT(() => Agents.boardGet(n, "d"))).expires_at).toBe(new Date(dExpires).toISOString());
    await expect(asT(() => Agents.boardGet(n, "e"))).rejects.toBeInstanceOf(Agents.BlackboardEntryNotFoundError);
    // The aggregate purges e (expired): its 100 leaves the sums.
    expect(await asT(() => Agents.boardAggregate(n, { field: "score", top: 1 }))).toMatchObject({
      count: 4,
      field_count: 2,
      sum: 7,
      min: 2,
      max: 5,
      top: [{ key: "a", value: 5 }],
    });
    const page = await asT(() => Agents.boardList(n, { limit: 10 }));
    expect(page.data.map((e) => [e.key, e.value, e.version])).toEqual([
      ["a", { score: 5, tag: "x" }, 3],
      ["b", 7, 1],
      ["c", "text", 2],
      ["d", { score: 2 }, 1],
    ]);

    // Compare-and-set against the old version; the rewrite leaves nothing in :ver and :kf.
    await expect(asT(() => Agents.boardPut(n, "a", { value: { score: 9 }, if_version: 2 }))).rejects.toMatchObject({
      code: "blackboard.version_mismatch",
    });
    expect((await asT(() => Agents.boardPut(n, "a", { value: { score: 9 }, if_version: 3 }))).version).toBe(4);
    expect(await redis().call(["HGET", stored(n, ":ver"), "a"])).toBeNull();
    expect(await redis().call(["HGET", stored(n, ":kf"), "a"])).toBeNull();
    expect((await asT(() => Agents.boardGet(n, "a"))).version).toBe(4);
    expect((await asT(() => Agents.boardIncr(n, "b", { by: 2 }))).value).toBe(9);
    expect(await asT(() => Agents.boardGet(n, "b"))).toMatchObject({ value: 9, version: 2 });
    await asT(() => Agents.boardDelete(n, "d", 1));
    expect(await redis().call(["ZSCORE", stored(n, ":exp"), "d"])).toBeNull();
    expect(await redis().call(["HGET", stored(n, ":ver"), "d"])).toBeNull();

    expect(await asT(() => Agents.boardAggregate(n, { field: "score", top: 0 }))).toMatchObject({
      count: 3,
      field_count: 1,
      sum: 9,
      min: 9,
      max: 9,
    });
    expect(await asT(() => Agents.boardAggregate(n, { field: "value", top: 0 }))).toMatchObject({ sum: 9, max: 9 });
    // c was never written again: still read from the layout before.
    expect(await asT(() => Agents.boardGet(n, "c"))).toMatchObject({ value: "text", version: 2 });
  });
});

describe("expiry and aggregates", () => {
  it("an entry past its expiry is absent to put, delete and incr even when the purge has not reached it", async () => {
    const n = ns();
    // 100 entries expiring first fill the purge's 100 a call; the three after them are not purged.
    await asT(() =>
      Promise.all(Array.from({ length: 100 }, (_, i) => Agents.boardPut(n, `early${i}`, { value: i, ttl_s: 1 }))),
    );
    for (const k of ["late1", "late2", "late3"]) await asT(() => Agents.boardPut(n, k, { value: 41, ttl_s: 2 }));
    clock.advance(3000);

    expect((await asT(() => Agents.boardPut(n, "late1", { value: "new", if_version: 0 }))).version).toBe(1);
    await expect(asT(() => Agents.boardDelete(n, "late2"))).rejects.toBeInstanceOf(Agents.BlackboardEntryNotFoundError);
    expect(await asT(() => Agents.boardIncr(n, "late3", { by: 1 }))).toMatchObject({ value: 1, version: 1 });
    expect(await asT(() => Agents.boardAggregate(n, { field: "value", top: 0 }))).toMatchObject({
      count: 2,
      field_count: 1,
      sum: 1,
    });
  });

  it("rewriting an entry with the same numbers leaves the sums exactly as they were", async () => {
    const n = ns();
    for (const [k, x] of [
      ["k1", 0.1],
      ["k2", 0.2],
      ["k3", 0.7],
    ] as const)
      await asT(() => Agents.boardPut(n, k, { value: { x } }));
    const before = await redis().call(["HGET", stored(n, ":sum"), "x"]);
    for (let i = 0; i < 100; i++) await asT(() => Agents.boardPut(n, "k1", { value: { x: 0.1, note: `v${i}` } }));
    expect(await redis().call(["HGET", stored(n, ":sum"), "x"])).toBe(before);
    expect((await asT(() => Agents.boardGet(n, "k1"))).version).toBe(101);
  });
});
