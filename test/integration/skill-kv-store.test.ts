/**
 * kv_store on the real Redis: each op accepting and refusing, TTLs that Redis really holds, the
 * value and TTL limits, and tenant isolation (whatever key a tenant names, it stays in its own
 * namespace). Most cases go through `Skills.execute` in a tenant's context; a few through the
 * HTTP handler, to see the statuses and field names a client sees.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { redis } from "../../core/platform/redis.ts";
import * as Skills from "../../core/skills/index.ts";
import { kvKey } from "../../core/skills/kv-store.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const EXECUTE = "/api/v1/skills/kv_store/execute";
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  a = await makeTenantWithKeys();
  // Direct executions are charged: enough credits that no test here meets a 402.
  await grantCredits(a.tenant.id, 1_000_000);
  b = await makeTenantWithKeys();
  // Direct executions are charged: enough credits that no test here meets a 402.
  await grantCredits(b.tenant.id, 1_000_000);
});

/** Run kv_store as tenant `t`'s agent key; the skill's result. */
const kv = (t: Tenant, args: Record<string, unknown>) =>
  withContext(
    {
      requestId: randomUUID(),
      correlationId: randomUUID(),
      actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
    },
    () => Skills.execute("kv_store", args),
  ).then((r) => r.result as Record<string, any>);

/** The AppError `p` rejects with (fails the test if it resolves). */
async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}
const fields = (e: AppError) => (e.details as { fields: { field: string }[] }).fields.map((f) => f.field);

const raw = (t: Tenant, key: string) => redis().get(kvKey(t.tenant.id, key));
const ttlOf = (t: Tenant, key: string) => redis().ttl(kvKey(t.tenant.id, key));

describe("each op", () => {
  it("set then get returns the JSON value; get of an absent key is not found", async () => {
    const value = { n: 1, tags: ["x", "é"], nested: { ok: true } };
    expect(await kv(a, { op: "set", key: "doc", value })).toEqual({ op: "set" });
    expect(await kv(a, { op: "get", key: "doc" })).toEqual({ op: "get", value, found: true });
    expect(await raw(a, "doc")).toBe(JSON.stringify(value));
    expect(await kv(a, { op: "get", key: "never-set" })).toEqual({ op: "get", value: null, found: false });
  });

  it("a stored null is found, unlike an absent key", async () => {
    await kv(a, { op: "set", key: "null-value", value: null });
    expect(await kv(a, { op: "get", key: "null-value" })).toEqual({ op: "get", value: null, found: true });
  });

  it("set without a value is refused, naming args.value", async () => {
    const e = await refusal(kv(a, { op: "set", key: "no-value" }));
    expect(e.status).toBe(400);
    expect(fields(e)).toEqual(["args.value"]);
    expect(await raw(a, "no-value")).toBeNull();
  });

  it("set with ttl_s sets that TTL; set without it keeps none (and clears an earlier one)", async () => {
    await kv(a, { op: "set", key: "session", value: "s", ttl_s: 120 });
    const ttl = await ttlOf(a, "session");
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThanOrEqual(120);
    await kv(a, { op: "set", key: "session", value: "s2" });
    expect(await ttlOf(a, "session")).toBe(-1);
  });

  it("a key whose TTL has passed is gone", async () => {
    await kv(a, { op: "set", key: "short", value: 1, ttl_s: 1 });
    await redis().call(["PEXPIRE", redis().key(kvKey(a.tenant.id, "short")), 20]); // the skill takes whole seconds; shorten it here
    await new Promise((r) => setTimeout(r, 60));
    expect(await kv(a, { op: "get", key: "short" })).toEqual({ op: "get", value: null, found: false });
  });

  it("delete says whether the key existed", async () => {
    await kv(a, { op: "set", key: "gone", value: 1 });
    expect(await kv(a, { op: "delete", key: "gone" })).toEqual({ op: "delete", deleted: 1 });
    expect(await kv(a, { op: "delete", key: "gone" })).toEqual({ op: "delete", deleted: 0 });
    expect(await raw(a, "gone")).toBeNull();
  });

  it("exists is true only for a present key", async () => {
    await kv(a, { op: "set", key: "here", value: false });
    expect(await kv(a, { op: "exists", key: "here" })).toEqual({ op: "exists", exists: true });
    expect(await kv(a, { op: "exists", key: "not-here" })).toEqual({ op: "exists", exists: false });
  });

  it("incr counts from 0 by 1 or by value (negative decrements), and the count reads back as JSON", async () => {
    expect(await kv(a, { op: "incr", key: "hits" })).toEqual({ op: "incr", value: 1 });
    expect(await kv(a, { op: "incr", key: "hits", value: 10 })).toEqual({ op: "incr", value: 11 });
    expect(await kv(a, { op: "incr", key: "hits", value: -3 })).toEqual({ op: "incr", value: 8 });
    expect(await kv(a, { op: "get", key: "hits" })).toEqual({ op: "get", value: 8, found: true });
    await kv(a, { op: "set", key: "set-number", value: 41 });
    expect(await kv(a, { op: "incr", key: "set-number" })).toEqual({ op: "incr", value: 42 });
  });

  it("incr with ttl_s sets the TTL on a new key and keeps that window on later increments", async () => {
    await kv(a, { op: "incr", key: "window", ttl_s: 60 });
    await redis().call(["EXPIRE", redis().key(kvKey(a.tenant.id, "window")), 30]); // as if 30 s had passed
    await kv(a, { op: "incr", key: "window", ttl_s: 60 });
    const ttl = await ttlOf(a, "window");
    expect(ttl).toBeGreaterThan(20);
    expect(ttl).toBeLessThanOrEqual(30);
    await kv(a, { op: "incr", key: "forever" });
    expect(await ttlOf(a, "forever")).toBe(-1);
  });

  it("incr on a value that is not an integer is refused with skills.kv_not_integer, the value unchanged", async () => {
    for (const value of ["5", 1.5, { n: 1 }]) {
      await kv(a, { op: "set", key: "text", value });
      const e = await refusal(kv(a, { op: "incr", key: "text" }));
      expect(e.status).toBe(400);
      expect(e.code).toBe("skills.kv_not_integer");
      expect(fields(e)).toEqual(["args.key"]);
      expect(await kv(a, { op: "get", key: "text" })).toEqual({ op: "get", value, found: true });
    }
  });

  it("incr with a non-integer increment is refused by the schema", async () => {
    const e = await refusal(kv(a, { op: "incr", key: "hits", value: 0.5 }));
    expect(e.status).toBe(400);
    expect(fields(e)).toEqual(["args.value"]);
  });

  it("mget returns the values in the order asked, null where absent", async () => {
    await kv(a, { op: "set", key: "m1", value: "one" });
    await kv(a, { op: "set", key: "m3", value: [3] });
    expect(await kv(a, { op: "mget", keys: ["m3", "m-absent", "m1", "m3"] })).toEqual({
      op: "mget",
      values: [[3], null, "one", [3]],
    });
  });

  it("mget of no keys, or of more than 100, is refused", async () => {
    expect(fields(await refusal(kv(a, { op: "mget", keys: [] })))).toEqual(["args.keys"]);
    const many = Array.from({ length: 101 }, (_, i) => `k${i}`);
    expect(fields(await refusal(kv(a, { op: "mget", keys: many })))).toEqual(["args.keys"]);
  });

  it("an unknown op, an empty key or a control character in a key is refused", async () => {
    expect((await refusal(kv(a, { op: "scan", key: "x" }))).status).toBe(400);
    expect(fields(await refusal(kv(a, { op: "get", key: "" })))).toEqual(["args.key"]);
    expect(fields(await refusal(kv(a, { op: "get", key: "a\nb" })))).toEqual(["args.key"]);
  });
});

describe("limits", () => {
  it("a value at the size limit is stored; one byte more is refused with skills.kv_value_too_large", async () => {
    const max = config().skills.kv.maxValueBytes;
    const fits = "x".repeat(max - 2); // JSON adds the two quotes
    await kv(a, { op: "set", key: "big", value: fits });
    expect((await raw(a, "big"))?.length).toBe(max);
    const e = await refusal(kv(a, { op: "set", key: "big", value: `${fits}y` }));
    expect(e.status).toBe(400);
    expect(e.code).toBe("skills.kv_value_too_large");
    expect(fields(e)).toEqual(["args.value"]);
    expect((await raw(a, "big"))?.length).toBe(max); // the earlier value is kept
  });

  it("the size limit counts UTF-8 bytes, not characters", async () => {
    await withConfig({ SKILL_KV_MAX_VALUE_BYTES: "10" }, async () => {
      await kv(a, { op: "set", key: "utf8", value: "abcdefgh" }); // 10 characters, 10 bytes of JSON
      const e = await refusal(kv(a, { op: "set", key: "utf8", value: "ééééé" })); // 7 characters, 12 bytes
      expect(e.code).toBe("skills.kv_value_too_large");
    });
  });

  it("ttl_s at the limit is accepted; above it is refused naming args.ttl_s, for set and incr", async () => {
    const max = config().skills.kv.maxTtlS;
    await kv(a, { op: "set", key: "long", value: 1, ttl_s: max });
    expect(await ttlOf(a, "long")).toBeGreaterThan(max - 10);
    for (const args of [
      { op: "set", key: "too-long", value: 1, ttl_s: max + 1 },
      { op: "incr", key: "too-long", ttl_s: max + 1 },
    ]) {
      const e = await refusal(kv(a, args));
      expect(e.status).toBe(400);
      expect(fields(e)).toEqual(["args.ttl_s"]);
    }
    expect(await raw(a, "too-long")).toBeNull();
    expect(fields(await refusal(kv(a, { op: "set", key: "k", value: 1, ttl_s: 0 })))).toEqual(["args.ttl_s"]);
  });
});

describe("tenant isolation", () => {
  it("B cannot read, overwrite, delete, count or mget A's key of the same name", async () => {
    await kv(a, { op: "set", key: "shared-name", value: "A's" });
    expect(await kv(b, { op: "get", key: "shared-name" })).toEqual({ op: "get", value: null, found: false });
    expect(await kv(b, { op: "exists", key: "shared-name" })).toEqual({ op: "exists", exists: false });
    expect(await kv(b, { op: "mget", keys: ["shared-name"] })).toEqual({ op: "mget", values: [null] });
    await kv(b, { op: "set", key: "shared-name", value: "B's" });
    expect(await kv(b, { op: "delete", key: "shared-name" })).toEqual({ op: "delete", deleted: 1 });
    expect(await kv(b, { op: "delete", key: "shared-name" })).toEqual({ op: "delete", deleted: 0 });
    expect(await kv(b, { op: "incr", key: "shared-name" })).toEqual({ op: "incr", value: 1 });
    expect(await kv(a, { op: "get", key: "shared-name" })).toEqual({ op: "get", value: "A's", found: true });
  });

  it("the raw Redis key holds the stage prefix and the tenant id", async () => {
    await kv(a, { op: "set", key: "where", value: 1 });
    const prefix = config().redisPrefix;
    const found = await redis().call(["KEYS", `${prefix}skills:kv:*:where`]);
    expect(found).toEqual([`${prefix}skills:kv:${a.tenant.id}:where`]);
  });

  it("keys with ':', '*' or another tenant's id stay in the caller's namespace", async () => {
    await kv(a, { op: "set", key: "secret", value: "A only" });
    for (const key of [`${a.tenant.id}:secret`, "*", "*secret", `:${a.tenant.id}:secret`, "../secret", "secret*"]) {
      expect(await kv(b, { op: "get", key })).toEqual({ op: "get", value: null, found: false });
      expect(await kv(b, { op: "mget", keys: [key] })).toEqual({ op: "mget", values: [null] });
      await kv(b, { op: "set", key, value: "B" });
      expect(await redis().get(kvKey(b.tenant.id, key))).toBe('"B"');
    }
    expect(await kv(a, { op: "get", key: "secret" })).toEqual({ op: "get", value: "A only", found: true });
    expect(await kv(a, { op: "get", key: "*" })).toEqual({ op: "get", value: null, found: false });
  });
});

describe("over HTTP", () => {
  it("set, incr and get through the handler", async () => {
    const call = (args: unknown) => invoke("POST", EXECUTE, { key: a.keys.agent.key, body: { args } });
    expect((await call({ op: "set", key: "http", value: { v: 1 }, ttl_s: 30 })).status).toBe(200);
    const got = await call({ op: "get", key: "http" });
    expect(got.status).toBe(200);
    expect(got.body.result).toEqual({ op: "get", value: { v: 1 }, found: true });
    expect(got.body.skill).toBe("kv_store");
  });

  it("a bad value size and a bad ttl are 400s naming args fields", async () => {
    const tooBig = "x".repeat(config().skills.kv.maxValueBytes);
    const res = await invoke("POST", EXECUTE, {
      key: a.keys.agent.key,
      body: { args: { op: "set", key: "k", value: tooBig } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("skills.kv_value_too_large");
    const bad = await invoke("POST", EXECUTE, { key: a.keys.agent.key, body: { args: { op: "get" } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toContain("body.args.key");
  });

  it("Redis down -> 503 skills.kv_unavailable, retryable", async () => {
    await withConfig({ REDIS_URL: "redis://127.0.0.1:1" }, async () => {
      const started = Date.now();
      const res = await invoke("POST", EXECUTE, {
        key: a.keys.agent.key,
        body: { args: { op: "get", key: "k" } },
      });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("skills.kv_unavailable");
      expect(Date.now() - started).toBeLessThan(15_000); // fails fast, not at the 25 s skill deadline
      const e = await refusal(kv(a, { op: "incr", key: "k" }));
      expect(e.code).toBe("skills.kv_unavailable");
      expect(e.retryable).toBe(true);
    });
    expect(await kv(a, { op: "exists", key: "k" })).toEqual({ op: "exists", exists: false }); // back up
  });
});
