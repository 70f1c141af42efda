/**
 * The platform circuit breaker itself, through kinds other than skills: failures counted in a
 * window, a breaker opened and closed by its caller with a reason, exactly one probe among 20
 * concurrent callers, kinds kept apart, Redis as the fast path with Postgres answering when Redis
 * is away, failing open when both are away, and transitions that commit or roll back with the
 * change. Real Postgres and Redis; time moved by a ManualClock where a window or cooldown passes.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { readCopy, writeCopy } from "../../core/platform/breaker/cache.ts";
import {
  type BreakerKey,
  BreakerOpenError,
  type BreakerPolicy,
  COPY_TTL_MS,
  closeBreaker,
  defineBreaker,
  openBreaker,
  peekBreaker,
  type Transition,
} from "../../core/platform/breaker/index.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { createPool, pool, query, setPool } from "../../core/platform/db/index.ts";
import { flushMetrics, renderMetrics } from "../../core/platform/metrics/index.ts";
import { withConfig } from "../setup/config-override.ts";
import { withPostgresAway } from "../setup/postgres-away.ts";

afterEach(() => {
  setClock(systemClock);
});

const tag = () => randomBytes(3).toString("hex");
const shared = (target: string): BreakerKey => ({ tenantId: null, target });

/** A kind of its own per test, recording its transitions. */
function kind(policy: Partial<BreakerPolicy> = {}, onTransition?: (t: Transition) => Promise<void>) {
  const seen: string[] = [];
  const reasons: string[] = [];
  const name = `test_${tag()}`;
  const breaker = defineBreaker({
    kind: name,
    policy: () => ({ failureThreshold: 3, cooldownS: 60, probeLeaseMs: 10_000, ...policy }),
    onTransition: async (t) => {
      seen.push(`${t.from}->${t.row.state}`);
      reasons.push(t.reason);
      await onTransition?.(t);
    },
  });
  return { breaker, name, seen, reasons };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

async function row(kindName: string, key: BreakerKey) {
  const { rows } = await query<{ state: string; failure_count: number; cooldown_until: Date | null }>(
    `select state, failure_count, cooldown_until from circuit_breaker_state
      where kind = $1 and target = $2 and tenant_id is not distinct from CAST($3 AS uuid)`,
    [kindName, key.target, key.tenantId],
  );
  return rows[0];
}

/** A metric of this process's series with these labels, once flushed to Redis. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  await flushMetrics();
  const { body } = await renderMetrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = body.split("\n").find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

const boom = new Error("persistence failed");

describe("failures within a window", () => {
  it("opens at 3 failures within 60 s; failures older than the window and successes do not count", async () => {
    const clk = new ManualClock(Date.now());
    setClock(clk);
    const { breaker, name, seen, reasons } = kind({ failureWindowS: 60 });
    const key = shared("failure_matches");
    const failOnce = async () => breaker.fail(await breaker.acquire(key), boom);

    await failOnce();
    clk.advance(30_000);
    await failOnce();
    // A success does not forget failures of a window breaker.
    await breaker.succeed(await breaker.acquire(key));
    expect(await row(name, key)).toMatchObject({ state: "CLOSED", failure_count: 2 });
    // The first failure leaves the window: one more makes 2 within 60 s, not 3.
    clk.advance(30_001);
    await failOnce();
    expect(await row(name, key)).toMatchObject({ state: "CLOSED", failure_count: 2 });
    expect((await breaker.acquire(key)).probeId).toBeNull();

    clk.advance(1_000);
    await failOnce();
    expect(await row(name, key)).toMatchObject({ state: "OPEN", failure_count: 3 });
    const err = await rejection(breaker.acquire(key));
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect(err).toMatchObject({ code: "breaker.open", status: 503, retryAfterS: 60 });
    expect(seen).toEqual(["CLOSED->OPEN"]);
    expect(reasons[0]).toBe("3 failures in 60 s: Error: persistence failed");
  });

  it("a consecutive-failures breaker forgets its failures at a success, whatever their age", async () => {
    const clk = new ManualClock(Date.now());
    setClock(clk);
    const { breaker, name } = kind();
    const key = shared("consecutive");
    for (let i = 0; i < 2; i++) await breaker.fail(await breaker.acquire(key), boom);
    clk.advance(3_600_000);
    await breaker.fail(await breaker.acquire(key), boom);
    expect(await row(name, key)).toMatchObject({ state: "OPEN", failure_count: 3 });
    await closeBreaker(breaker, key, { reason: "test" });
    for (let i = 0; i < 2; i++) await breaker.fail(await breaker.acquire(key), boom);
    await breaker.succeed(await breaker.acquire(key));
    await breaker.fail(await breaker.acquire(key), boom);
    expect(await row(name, key)).toMatchObject({ state: "CLOSED", failure_count: 1 });
  });

  it("names the failures that opened it in its reason, in the singular for one", async () => {
    for (const [policy, want] of [
      [{ failureThreshold: 1 }, "1 consecutive failure: Error: persistence failed"],
      [{ failureThreshold: 2 }, "2 consecutive failures: Error: persistence failed"],
      [{ failureThreshold: 1, failureWindowS: 30 }, "1 failure in 30 s: Error: persistence failed"],
    ] as const) {
      const { breaker, reasons } = kind(policy);
      const key = shared("reason");
      for (let i = 0; i < policy.failureThreshold; i++) await breaker.fail(await breaker.acquire(key), boom);
      expect(reasons).toEqual([want]);
    }
  });
});

describe("opened and closed by the caller", () => {
  it("opens with a reason and a TTL, refuses until it, then recovers only through a passing probe (the canary)", async () => {
    const clk = new ManualClock(Date.now());
    setClock(clk);
    const { breaker, name, seen, reasons } = kind({ cooldownS: 3600 });
    const key = shared("costsim_v2");
    const opensBefore = await metric("aos_breaker_opens_total", { breaker: name, circuit: key.target });

    const { from } = await openBreaker(breaker, key, { reason: "p95 drift 0.31 > 0.2", cooldownS: 900 });
    expect(from).toBe("CLOSED");
    expect(await row(name, key)).toMatchObject({ state: "OPEN", failure_count: 0 });
    expect(await rejection(breaker.acquire(key))).toMatchObject({ code: "breaker.open", retryAfterS: 900 });
    expect(await peekBreaker(breaker, key)).toBe("OPEN");
    expect(await metric("aos_breaker_opens_total", { breaker: name, circuit: key.target })).toBe(opensBefore + 1);
    expect(await metric("aos_breaker_state", { breaker: name, circuit: key.target })).toBe(1);

    clk.advance(899_000);
    expect(await rejection(breaker.acquire(key))).toBeInstanceOf(BreakerOpenError);
    clk.advance(1_000);
    expect(await peekBreaker(breaker, key)).toBe("HALF_OPEN");
    // The TTL alone does not close it: the canary is the probe, and a failing canary re-opens it.
    const canary = await breaker.acquire(key);
    expect(canary.probeId).not.toBeNull();
    await breaker.fail(canary, new Error("canary: drift 0.25"));
    expect(await row(name, key)).toMatchObject({ state: "OPEN" });
    clk.advance(3_600_000);
    const second = await breaker.acquire(key);
    await breaker.succeed(second);
    expect(await row(name, key)).toMatchObject({ state: "CLOSED", failure_count: 0 });
    expect(seen).toEqual([
      "CLOSED->OPEN",
      "OPEN->HALF_OPEN",
      "HALF_OPEN->OPEN",
      "OPEN->HALF_OPEN",
      "HALF_OPEN->CLOSED",
    ]);
    expect(reasons[0]).toBe("p95 drift 0.31 > 0.2");
    expect(reasons[2]).toBe("probe call failed: Error: canary: drift 0.25");
  });

  it("closes with a reason whatever the state; an unknown breaker is undefined, not created", async () => {
    const { breaker, name, seen, reasons } = kind();
    const key = shared("manual-close");
    await openBreaker(breaker, key, { reason: "maintenance" });
    expect(await rejection(breaker.acquire(key))).toBeInstanceOf(BreakerOpenError);
    const closed = await closeBreaker(breaker, key, { reason: "maintenance over" });
    expect(closed?.from).toBe("OPEN");
    expect(closed?.row.state).toBe("CLOSED");
    // The Redis copy moved with it: the next call goes through at once.
    expect(await breaker.acquire(key)).toMatchObject({ probeId: null, failuresSeen: 0 });
    expect(seen).toEqual(["CLOSED->OPEN", "OPEN->CLOSED"]);
    expect(reasons).toEqual(["maintenance", "maintenance over"]);
    expect(await closeBreaker(breaker, shared("nowhere"), { reason: "x" })).toBeUndefined();
    expect(await row(name, shared("nowhere"))).toBeUndefined();
  });
});

describe("half-open", () => {
  it("lets exactly one of 20 concurrent callers probe; the others are refused", async () => {
    const clk = new ManualClock(Date.now());
    setClock(clk);
    const { breaker, name } = kind();
    const key = shared("probe");
    for (let i = 0; i < 3; i++) await breaker.fail(await breaker.acquire(key), boom);
    clk.advance(60_000);

    const results = await Promise.allSettled(Array.from({ length: 20 }, () => breaker.acquire(key)));
    const permits = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(permits).toHaveLength(1);
    expect(permits[0]?.probeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(refused).toHaveLength(19);
    for (const e of refused) expect(e).toBeInstanceOf(BreakerOpenError);
    expect(await row(name, key)).toMatchObject({ state: "HALF_OPEN" });
    expect(await metric("aos_breaker_state", { breaker: name, circuit: key.target })).toBe(2);
    expect(await metric("aos_breaker_rejected_total", { breaker: name, circuit: key.target })).toBe(19);
  });
});

describe("kinds and tenants", () => {
  it("keeps the same target of two kinds, and of a tenant and the shared one, apart", async () => {
    const one = kind();
    const two = kind();
    const target = "same-target";
    await openBreaker(one.breaker, shared(target), { reason: "one" });
    expect(await rejection(one.breaker.acquire(shared(target)))).toBeInstanceOf(BreakerOpenError);
    expect((await two.breaker.acquire(shared(target))).probeId).toBeNull();
    const { rows } = await query<{ id: string }>("select id from tenants where slug = 'system'");
    const tenantKey = { tenantId: rows[0]?.id as string, target };
    expect((await one.breaker.acquire(tenantKey)).probeId).toBeNull();
  });
});

describe("Redis and Postgres", () => {
  it("answers from the Redis copy alone while Postgres is away", async () => {
    const { breaker } = kind();
    const key = shared("redis-fast-path");
    await openBreaker(breaker, key, { reason: "down" });
    await withPostgresAway(async () => {
      expect(await rejection(breaker.acquire(key))).toBeInstanceOf(BreakerOpenError);
    });
  });

  it("reads Postgres when Redis is away, and counts it", async () => {
    const { breaker, name } = kind();
    const key = shared("redis-down");
    await openBreaker(breaker, key, { reason: "down" });
    const before = await metric("aos_breaker_cache_errors_total", { breaker: name });
    await withConfig({ REDIS_URL: "redis://127.0.0.1:1" }, async () => {
      const started = Date.now();
      expect(await rejection(breaker.acquire(key))).toBeInstanceOf(BreakerOpenError);
      // A change made while Redis is away is still Postgres's to tell.
      await closeBreaker(breaker, key, { reason: "fixed" });
      expect((await breaker.acquire(key)).probeId).toBeNull();
      expect(Date.now() - started).toBeLessThan(3_000);
    });
    expect(await metric("aos_breaker_cache_errors_total", { breaker: name })).toBeGreaterThan(before);
    // Redis missed the change (its copy said OPEN when it went away): a copy lives COPY_TTL_MS at
    // most, then Postgres is read again.
    await new Promise((r) => setTimeout(r, COPY_TTL_MS));
    expect((await breaker.acquire(key)).probeId).toBeNull();
  });

  it("never lets an older copy replace a newer one", async () => {
    const { breaker, name } = kind();
    const key = shared("versions");
    await openBreaker(breaker, key, { reason: "v1" });
    const copyKey = { kind: name, ...key };
    const open = await readCopy(copyKey);
    expect(open).toMatchObject({ state: "OPEN" });
    await writeCopy(copyKey, { ...(open as NonNullable<typeof open>), version: 0, state: "CLOSED" });
    expect(await readCopy(copyKey)).toEqual(open);
    expect(await rejection(breaker.acquire(key))).toBeInstanceOf(BreakerOpenError);
  });

  it("fails open when both are away: a permit, no throw, aos_breaker_store_errors_total", async () => {
    const { breaker, name } = kind();
    const key = shared(`fail-open-${tag()}`);
    await withConfig(
      { REDIS_URL: "redis://127.0.0.1:1", DATABASE_URL: "postgres://postgres@127.0.0.1:1/x" },
      async () => {
        const permit = await breaker.acquire(key);
        expect(permit).toEqual({ key, probeId: null });
        await expect(breaker.fail(permit, boom)).resolves.toBeUndefined();
        await expect(breaker.succeed(permit)).resolves.toBeUndefined();
      },
    );
    // Counted by operation (a store outage hits every target; a target may be a tenant's host).
    for (const op of ["acquire", "fail", "succeed"]) {
      expect(await metric("aos_breaker_store_errors_total", { breaker: name, op })).toBe(1);
    }
    expect(await row(name, key)).toBeUndefined();
  });
});

describe("transitions", () => {
  it("commit with the change: a transition that throws leaves the breaker as it was", async () => {
    let refuse = true;
    const { breaker, name } = kind({}, async () => {
      if (refuse) throw new Error("history is down");
    });
    const key = shared("atomic");
    await expect(openBreaker(breaker, key, { reason: "x" })).rejects.toThrow();
    expect(await row(name, key)).toBeUndefined();
    expect((await breaker.acquire(key)).probeId).toBeNull();
    refuse = false;
    await openBreaker(breaker, key, { reason: "x" });
    expect(await row(name, key)).toMatchObject({ state: "OPEN" });
  });
});
