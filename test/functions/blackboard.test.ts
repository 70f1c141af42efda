/**
 * The blackboard through its handlers and (for the volume tests) its core functions on the real
 * Redis: versions and compare-and-set, TTL, incr without lost updates, listing by cursor, and
 * incremental aggregation that equals a full recount, also under concurrent writers.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Agents from "../../core/agents/index.ts";
import { configOverrides, replaceConfigOverrides, setConfig } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { setClock, systemClock } from "../../core/platform/clock.ts";
import { closeRedis, redis } from "../../core/platform/redis.ts";
import { invoke } from "../events/index.ts";
import { asAgentKey, ShiftedClock } from "../factories/agents.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let other: Tenant;
const clock = new ShiftedClock();
beforeAll(async () => {
  setClock(clock);
  t = await makeTenantWithKeys();
  other = await makeTenantWithKeys();
});
afterAll(() => setClock(systemClock));

const key = () => t.keys.agent.key;
const ns = () => `ns-${randomUUID().slice(0, 8)}`;
const put = (n: string, k: string, body: unknown, apiKey = key()) =>
  invoke("PUT", `/api/v1/blackboard/${n}/${k}`, { key: apiKey, body });
const get = (n: string, k: string, apiKey = key()) => invoke("GET", `/api/v1/blackboard/${n}/${k}`, { key: apiKey });
/** Core calls as tenant t's agent key (the handlers' work without HTTP, for volume). */
const asT = <T>(fn: () => Promise<T>) => asAgentKey(t)(fn);

/** Every entry of a namespace through the listing, page by page. */
async function readAll(n: string) {
  const out: Agents.BoardEntry[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await asT(() => Agents.boardList(n, { limit: 1000, ...(cursor ? { cursor } : {}) }));
    out.push(...page.data);
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
}

function recount(entries: Agents.BoardEntry[], field: string) {
  const nums = entries.flatMap((e) => {
    const v = typeof e.value === "number" ? { value: e.value } : (e.value as Record<string, unknown>);
    return typeof v?.[field] === "number" ? [v[field] as number] : [];
  });
  return {
    count: entries.length,
    field_count: nums.length,
    sum: nums.reduce((s, x) => s + x, 0),
    min: nums.length ? Math.min(...nums) : null,
    max: nums.length ? Math.max(...nums) : null,
  };
}

describe("blackboard entries", () => {
  it("put, get, versions, compare-and-set (409 with the current version), delete", async () => {
    const n = ns();
    const first = await put(n, "plan", { value: { step: 1 } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ns: n, key: "plan", value: { step: 1 }, version: 1, expires_at: null });
    expect((await put(n, "plan", { value: { step: 2 }, if_version: 1 })).body.version).toBe(2);
    const stale = await put(n, "plan", { value: { step: 3 }, if_version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "blackboard.version_mismatch", details: { current_version: 2 } });
    expect((await put(n, "plan", { value: 0, if_version: 0 })).status).toBe(409); // create-only
    expect((await get(n, "plan", t.keys.viewer.key)).body).toMatchObject({ value: { step: 2 }, version: 2 });
    const badDelete = await invoke("DELETE", `/api/v1/blackboard/${n}/plan`, {
      key: key(),
      query: { if_version: "1" },
    });
    expect(badDelete.status).toBe(409);
    expect(
      (await invoke("DELETE", `/api/v1/blackboard/${n}/plan`, { key: key(), query: { if_version: "2" } })).status,
    ).toBe(204);
    expect((await get(n, "plan")).status).toBe(404);
    expect((await invoke("DELETE", `/api/v1/blackboard/${n}/plan`, { key: key() })).status).toBe(404);
    expect((await put(n, "plan", { value: "again", if_version: 0 })).body.version).toBe(1);
  });

  it("400 for bad names, bodies and values too large; a viewer may not write", async () => {
    const n = ns();
    const bad = await invoke("PUT", "/api/v1/blackboard/%20bad/k", { key: key(), body: { value: 1, ttl_s: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "body.ttl_s",
      "path.ns",
    ]);
    const big = await put(n, "k", { value: "x".repeat(70_000) });
    expect(big.status).toBe(400);
    expect(big.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["body.value"]);
    expect((await put(n, "k", { value: 1 }, t.keys.viewer.key)).status).toBe(403);
  });

  it("TTL: an expired entry is gone from get, the listing and the aggregates", async () => {
    const n = ns();
    await put(n, "short", { value: { score: 5 }, ttl_s: 1 });
    await put(n, "long", { value: { score: 7 } });
    expect((await get(n, "short")).body.expires_at).not.toBeNull();
    clock.advance(2000);
    expect((await get(n, "short")).status).toBe(404);
    const agg = await invoke("GET", `/api/v1/blackboard-aggregates/${n}`, { key: key(), query: { field: "score" } });
    expect(agg.body).toMatchObject({ count: 1, field_count: 1, sum: 7, min: 7, max: 7, avg: 7 });
    expect((await readAll(n)).map((e) => e.key)).toEqual(["long"]);
  });

  it("the same namespace and key in two tenants are two entries", async () => {
    const n = ns();
    await put(n, "k", { value: "of t" });
    await put(n, "k", { value: "of other" }, other.keys.agent.key);
    expect((await get(n, "k")).body.value).toBe("of t");
    expect((await get(n, "k", other.keys.viewer.key)).body.value).toBe("of other");
  });
});

describe("blackboard under load", () => {
  it("100 writers x 1,000 incr on one key: no lost update", async () => {
    const n = ns();
    // 100 writers share this process's one Redis client (a Lambda serves one request at a time:
    // only a test queues 100 scripts on one connection). What is tested is atomicity, not
    // latency: a command deadline of 5 s, so a pause of the shared test machine does not time a
    // queued script out and put the client in its backoff for the tests after this one.
    const original = configOverrides();
    setConfig({ ...original, REDIS_COMMAND_TIMEOUT_MS: "5000" });
    await closeRedis();
    try {
      await Promise.all(
        Array.from({ length: 100 }, () =>
          asT(async () => {
            for (let i = 0; i < 1000; i++) await Agents.boardIncr(n, "counter", { by: 1 });
          }),
        ),
      );
    } finally {
      replaceConfigOverrides(original);
      await closeRedis();
    }
    const entry = await asT(() => Agents.boardGet(n, "counter"));
    expect(entry.value).toBe(100_000);
    expect(entry.version).toBe(100_000);
    const bad = await put(n, "text", { value: "abc" });
    expect(bad.status).toBe(200);
    const refused = await invoke("POST", `/api/v1/blackboard/${n}/text/incr`, { key: key(), body: { by: 1 } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("blackboard.not_a_number");
  }, 120_000);

  it("compare-and-set under contention: 20 writers, every success counted once, none lost", async () => {
    const n = ns();
    await asT(() => Agents.boardPut(n, "cas", { value: 0 }));
    let successes = 0;
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        asT(async () => {
          for (let done = 0; done < 25; ) {
            const cur = await Agents.boardGet(n, "cas");
            try {
              await Agents.boardPut(n, "cas", { value: (cur.value as number) + 1, if_version: cur.version });
              successes += 1;
              done += 1;
            } catch (e) {
              if (!(e instanceof Agents.BlackboardVersionError)) throw e;
              conflicts += 1;
            }
          }
        }),
      ),
    );
    const final = await asT(() => Agents.boardGet(n, "cas"));
    expect(successes).toBe(500);
    expect(final.value).toBe(500);
    expect(final.version).toBe(501);
    expect(conflicts).toBeGreaterThan(0);
  }, 120_000);

  it("aggregation over 10,000 keys equals a full recount, also with concurrent writers and two aggregators", async () => {
    const n = ns();
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${String(i).padStart(5, "0")}`);
    for (let i = 0; i < keys.length; i += 200)
      await asT(() =>
        Promise.all(
          keys.slice(i, i + 200).map((k, j) => Agents.boardPut(n, k, { value: { score: (i + j) % 97, tag: "x" } })),
        ),
      );
    const quiet = await asT(() => Agents.boardAggregate(n, { field: "score", top: 3 }));
    const all = await readAll(n);
    expect(all).toHaveLength(10_000);
    expect(quiet).toMatchObject(recount(all, "score"));
    expect(quiet.top.map((x) => x.value)).toEqual([96, 96, 96]);
    // Concurrent: 5 writers overwrite, delete and re-create keys while two aggregators read.
    let writing = true;
    const writers = Array.from({ length: 5 }, (_, w) =>
      asT(async () => {
        for (let i = 0; i < 400; i++) {
          const k = keys[(i * 37 + w * 1013) % keys.length] as string;
          if (i % 10 === 0) await Agents.boardDelete(n, k).catch(() => {});
          else await Agents.boardPut(n, k, { value: { score: ((i * w) % 1000) - 500 } });
        }
      }),
    );
    const aggregations: number[] = [];
    const aggregators = Array.from({ length: 2 }, () =>
      asT(async () => {
        while (writing) {
          const a = await Agents.boardAggregate(n, { field: "score", top: 0 });
          expect(a.field_count).toBeLessThanOrEqual(a.count);
          aggregations.push(a.count);
        }
      }),
    );
    await Promise.all(writers);
    writing = false;
    await Promise.all(aggregators);
    expect(aggregations.length).toBeGreaterThan(2);
    const after = await asT(() => Agents.boardAggregate(n, { field: "score", top: 0 }));
    expect(after).toMatchObject(recount(await readAll(n), "score"));
  }, 180_000);
});

describe("finished jobs' namespaces", () => {
  const asSweep = <T>(fn: () => Promise<T>) =>
    withContext({ requestId: "s", correlationId: "s", actor: { type: "system", name: "agent-sweep" } }, fn);
  const spawn = async () => {
    const res = await invoke("POST", "/api/v1/jobs", {
      key: key(),
      body: { task: "external", items: [{ input: { n: 1 } }], credits_per_item: 1 },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  /** Milliseconds each Redis key of namespace `n` of tenant t has left (-2: gone, -1: no expiry). */
  const pttls = async (n: string): Promise<Record<string, number>> => {
    const base = `bb:{${t.tenant.id}:${n}}`;
    const keys = [":data", ":ver", ":idx", ":kf", ":sum", ":f:score", ":exp"].map((k) => base + k);
    return Object.fromEntries(await Promise.all(keys.map(async (k) => [k.slice(base.length), await redis().pttl(k)])));
  };

  it("every key of a namespace has the idle expiry, also keys a later write creates (no full refresh then)", async () => {
    const n = ns();
    expect((await put(n, "a", { value: "text" })).status).toBe(200);
    // Created by later writes, while :data's expiry is fresh: the expiry set, the field sets, sums and fields.
    expect((await put(n, "b", { value: { score: 1 }, ttl_s: 60 })).status).toBe(200);
    expect((await put(n, "c", { value: { other: 2 } })).status).toBe(200);
    const base = `bb:{${t.tenant.id}:${n}}`;
    for (const k of [":data", ":ver", ":idx", ":exp", ":kf", ":sum", ":f:score", ":f:other"]) {
      const ms = await redis().pttl(base + k);
      expect(ms, k).toBeGreaterThan(604_800_000 - 120_000);
    }
  });

  it("expire BLACKBOARD_JOB_NAMESPACE_TTL_S after the sweep sees the job settled; writes never extend it", async () => {
    const original = configOverrides();
    setConfig({ ...original, BLACKBOARD_JOB_NAMESPACE_TTL_S: "1" });
    try {
      await grantCredits(t.tenant.id, 10);
      const [finished, running] = [await spawn(), await spawn()];
      const [done, live, free] = [`job:${finished}`, `job:${running}`, ns()];
      for (const n of [done, live, free]) {
        expect((await put(n, "a", { value: { score: 3 }, ttl_s: 3600 })).status).toBe(200);
        expect((await put(n, "b", { value: "text" })).status).toBe(200);
      }
      // Before: the idle expiry (7 days) on every key.
      expect(Object.values(await pttls(done)).every((ms) => ms > 3_600_000)).toBe(true);
      const cancel = await invoke("POST", `/api/v1/jobs/${finished}/cancel`, { key: key(), body: {} });
      expect(cancel.status).toBe(200);

      const first = await asSweep(() => Agents.sweep());
      expect(first.jobBoardsExpiring).toBeGreaterThanOrEqual(1);
      const left = await pttls(done);
      for (const [k, ms] of Object.entries(left)) {
        expect(ms, k).toBeGreaterThan(0);
        expect(ms, k).toBeLessThanOrEqual(1000);
      }
      // A write now does not lengthen it; a second sweep does nothing more.
      expect((await put(done, "c", { value: { score: 5 } })).status).toBe(200);
      expect((await pttls(done))[":data"]).toBeLessThanOrEqual(1000);
      expect((await asSweep(() => Agents.sweep())).jobBoardsExpiring).toBe(0);
      // The running job's namespace and a free one keep the idle expiry.
      for (const n of [live, free])
        expect(
          Object.values(await pttls(n)).every((ms) => ms > 3_600_000),
          n,
        ).toBe(true);

      await new Promise((r) => setTimeout(r, 1200));
      expect(Object.values(await pttls(done))).toEqual(Array(7).fill(-2));
      expect((await get(done, "a")).status).toBe(404);
      expect((await get(live, "a")).status).toBe(200);
    } finally {
      replaceConfigOverrides(original);
    }
  });
});
