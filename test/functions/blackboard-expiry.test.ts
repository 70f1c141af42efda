/**
 * The blackboard (core/agents/blackboard-scripts.ts) past the purge's reach and over rewrites:
 * an entry past its expiry is absent to put (create-only), incr, delete and list even when the
 * purge (100 keys a call, oldest expiry first) has not reached it, and a page of the list is
 * still full when expired keys sit among its keys; rewriting an entry with the same numbers
 * leaves the sums exactly as they were, and a field no key has any more sums to exactly 0.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Agents from "../../core/agents/index.ts";
import { setClock, systemClock } from "../../core/platform/clock.ts";
import { redis } from "../../core/platform/redis.ts";
import { asAgentKey, ShiftedClock } from "../factories/agents.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
const clock = new ShiftedClock();
beforeAll(async () => {
  setClock(clock);
  t = await makeTenantWithKeys();
});
afterAll(() => setClock(systemClock));

const ns = () => `ns-${randomUUID().slice(0, 8)}`;
const asT = <T>(fn: () => Promise<T>) => asAgentKey(t)(fn);
const sumOf = (n: string, field: string) => redis().call(["HGET", redis().key(`bb:{${t.tenant.id}:${n}}:sum`), field]);

describe("an entry past its expiry, beyond the purge's 100", () => {
  it("is absent to a create-only put, incr, delete and the list, whose pages stay full", async () => {
    const n = ns();
    // 450 keys that expire first (a000..), then the ones under test (z1..z4), then live ones (m0..):
    // each call below purges 100 (the a's, oldest expiry first), so every z is still stored then.
    for (let i = 0; i < 450; i++)
      await asT(() => Agents.boardPut(n, `a${String(i).padStart(3, "0")}`, { value: i, ttl_s: 1 }));
    for (const k of ["z1", "z2", "z3", "z4"]) await asT(() => Agents.boardPut(n, k, { value: 5, ttl_s: 2 }));
    for (let i = 0; i < 5; i++) await asT(() => Agents.boardPut(n, `m${i}`, { value: i }));
    clock.advance(3_000);
    const created = await asT(() => Agents.boardPut(n, "z1", { value: 7, if_version: 0 }));
    expect(created.version).toBe(1);
    const incr = await asT(() => Agents.boardIncr(n, "z2", { by: 1 }));
    expect(incr).toMatchObject({ value: 1, version: 1 });
    await expect(asT(() => Agents.boardDelete(n, "z3", 1))).rejects.toMatchObject({ code: "blackboard.not_found" });
    // The list: z4 dropped, not listed; a page of 3 from the start is full.
    const page = await asT(() => Agents.boardList(n, { limit: 3 }));
    expect(page.data.map((e) => e.key)).toEqual(["m0", "m1", "m2"]);
    expect(page.next_cursor).toBe("m2");
    const rest = await asT(() => Agents.boardList(n, { limit: 10, cursor: "m2" }));
    expect(rest.data.map((e) => e.key)).toEqual(["m3", "m4", "z1", "z2"]);
    expect(rest.next_cursor).toBeNull();
  });
});

describe("the sums", () => {
  it("are unchanged by rewriting the same numbers, and exactly 0 for a field no key has", async () => {
    const n = ns();
    for (const [k, x] of [
      ["k1", 0.1],
      ["k2", 0.2],
      ["k3", 0.7],
    ] as const)
      await asT(() => Agents.boardPut(n, k, { value: { x } }));
    const before = await sumOf(n, "x");
    for (let i = 0; i < 100; i++) await asT(() => Agents.boardPut(n, "k1", { value: { x: 0.1, note: `v${i}` } }));
    expect(await sumOf(n, "x")).toBe(before);
    expect((await asT(() => Agents.boardGet(n, "k1"))).version).toBe(101);
    // A changed number moves the sum by the difference; a number gone, its removal.
    await asT(() => Agents.boardPut(n, "k1", { value: { x: 1.1 } }));
    await asT(() => Agents.boardPut(n, "k2", { value: { y: 3 } }));
    const agg = await asT(() => Agents.boardAggregate(n, { field: "x", top: 0 }));
    expect(agg).toMatchObject({ count: 3, field_count: 2, min: 0.7, max: 1.1 });
    expect(agg.sum).toBeCloseTo(1.8, 12);
    for (const k of ["k1", "k3"]) await asT(() => Agents.boardDelete(n, k));
    expect(await sumOf(n, "x")).toBeNull();
    expect(await asT(() => Agents.boardAggregate(n, { field: "x", top: 0 }))).toMatchObject({
      count: 1,
      field_count: 0,
      sum: 0,
    });
  });
});
