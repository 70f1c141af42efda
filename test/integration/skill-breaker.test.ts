/**
 * Circuit breakers shared through Postgres: opening after consecutive failures, refusing while
 * open, exactly one probe among concurrent callers, state shared by two pools ("two Lambda
 * instances"), tenant-scoped versus shared targets, failing open when the store is down, and
 * transitions recorded in status_history in the transaction that makes them.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { createPool, pool, query, setPool, withTx } from "../../core/platform/db/index.ts";
import { setLogSink } from "../../core/platform/logger.ts";
import { flushMetrics, renderMetrics } from "../../core/platform/metrics/index.ts";
import {
  acquire,
  type BreakerKey,
  breakerKey,
  fail,
  type Permit,
  PROBE_LEASE_MS,
  succeed,
} from "../../core/skills/breaker.ts";
import { CircuitOpenError, UpstreamError } from "../../core/skills/errors.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { withPostgresAway } from "../setup/postgres-away.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  a = await makeTenantWithKeys();
  b = await makeTenantWithKeys();
});
afterEach(() => setClock(systemClock));

const tag = () => randomBytes(3).toString("hex");
const boom = (target: string) => new UpstreamError(target, "upstream answered 503", { retryable: true, status: 503 });

/** Run as tenant `t`'s agent key, as the execution path does. */
const as = <T>(t: Tenant, fn: () => Promise<T>) =>
  withContext(
    {
      requestId: randomUUID(),
      correlationId: randomUUID(),
      actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
    },
    fn,
  );

async function failTimes(key: BreakerKey, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await fail(await acquire(key), boom(key.target));
}

async function stateOf(key: BreakerKey) {
  const { rows } = await query<{
    state: string;
    failure_count: number;
    cooldown_until: Date | null;
    opened_at: Date | null;
    probe_id: string | null;
    last_error: string | null;
    updated_at: Date;
  }>(
    `select state, failure_count, cooldown_until, opened_at, probe_id, last_error, updated_at
       from circuit_breaker_state where target = $1 and tenant_id is not distinct from CAST($2 AS uuid)`,
    [key.target, key.tenantId],
  );
  return rows[0];
}

async function transitions(tenantId: string, target: string) {
  const { rows } = await query<{ old_status: string | null; new_status: string; metadata: { failure_count: number } }>(
    `select old_status, new_status, metadata from status_history
      where tenant_id = $1 and entity_type = 'circuit_breaker' and entity_id = $2 order by id`,
    [tenantId, target],
  );
  return rows;
}
const steps = (rows: { old_status: string | null; new_status: string }[]) =>
  rows.map((r) => `${r.old_status}->${r.new_status}`);

/** A breaker metric of this process, as Prometheus will see it once flushed to Redis. */
async function metric(name: string, value: string, label = "target"): Promise<number> {
  await flushMetrics();
  const { body } = await renderMetrics();
  const line = body.split("\n").find((l) => l.startsWith(`${name}{${label}="${value}"} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("opening", () => {
  it("opens after exactly 5 consecutive failures; a success in between resets the count", async () => {
    const key = breakerKey("tenant", `webhook:open-${tag()}.example`, a.tenant.id);
    await as(a, async () => {
      // A healthy breaker costs no write: no row for a target that never failed.
      await succeed(await acquire(key));
      expect(await stateOf(key)).toBeUndefined();

      await failTimes(key, 4);
      expect(await stateOf(key)).toMatchObject({ state: "CLOSED", failure_count: 4 });
      await succeed(await acquire(key));
      const cleared = await stateOf(key);
      expect(cleared).toMatchObject({ state: "CLOSED", failure_count: 0 });
      // Another success on a breaker with nothing to forget writes nothing.
      await succeed(await acquire(key));
      expect((await stateOf(key))?.updated_at).toEqual(cleared?.updated_at);

      await failTimes(key, 4);
      expect(await stateOf(key)).toMatchObject({ state: "CLOSED", failure_count: 4 });
      const opensBefore = await metric("m11_circuit_breaker_opens_total", key.target);
      await failTimes(key, 1);
      const open = await stateOf(key);
      expect(open).toMatchObject({ state: "OPEN", failure_count: 5 });
      expect(open?.last_error).toBe("skills.upstream_error: upstream answered 503");
      const cooldownMs = (open?.cooldown_until?.getTime() ?? 0) - (open?.opened_at?.getTime() ?? 0);
      expect(cooldownMs).toBe(config().skills.breaker.cooldownS * 1000);
      expect(await metric("m11_circuit_breaker_opens_total", key.target)).toBe(opensBefore + 1);
      expect(await metric("m11_circuit_breaker_state", key.target)).toBe(1);
    });
    const rows = await transitions(a.tenant.id, key.target);
    expect(steps(rows)).toEqual(["CLOSED->OPEN"]);
    expect(rows[0]?.metadata.failure_count).toBe(5);
  });

  it("honours SKILL_BREAKER_FAILURE_THRESHOLD", async () => {
    const key = breakerKey("tenant", `webhook:threshold-${tag()}.example`, a.tenant.id);
    await withConfig({ SKILL_BREAKER_FAILURE_THRESHOLD: "2" }, () =>
      as(a, async () => {
        await failTimes(key, 1);
        expect((await stateOf(key))?.state).toBe("CLOSED");
        await failTimes(key, 1);
        expect((await stateOf(key))?.state).toBe("OPEN");
      }),
    );
  });

  it("rejects while open with skills.circuit_open and the seconds left, counting each refusal", async () => {
    const key = breakerKey("tenant", `webhook:reject-${tag()}.example`, a.tenant.id);
    await as(a, async () => {
      await failTimes(key, 5);
      const before = await metric("m11_circuit_breaker_rejected_total", key.target);
      const errs = [await rejection(acquire(key)), await rejection(acquire(key))];
      for (const e of errs) {
        expect(e).toBeInstanceOf(CircuitOpenError);
        const err = e as CircuitOpenError;
        expect(err.code).toBe("skills.circuit_open");
        expect(err.status).toBe(503);
        expect(err.retryAfterS).toBeGreaterThanOrEqual(59);
        expect(err.retryAfterS).toBeLessThanOrEqual(60);
        expect(err.details).toMatchObject({ target: key.target, retry_after_s: err.retryAfterS });
      }
      expect(await metric("m11_circuit_breaker_rejected_total", key.target)).toBe(before + 2);
      // A failure reported by a call let through before the breaker opened changes nothing.
      await fail({ key, probeId: null }, boom(key.target));
      expect(await stateOf(key)).toMatchObject({ state: "OPEN", failure_count: 5 });
    });
  });

  it("keeps what a URL in the last error would leak out of it, and at most 1000 characters", async () => {
    const key = breakerKey("tenant", `webhook:redact-${tag()}.example`, a.tenant.id);
    await as(a, async () => {
      const url = "https://user:hunter2@hooks.example.com/services/T1/B2/s3cretpath?token=qwerty";
      await fail(await acquire(key), new Error(`request to ${url} failed`));
      const lastError = (await stateOf(key))?.last_error ?? "";
      expect(lastError).toBe("Error: request to https://hooks.example.com failed");
      await fail(await acquire(key), new Error("x".repeat(5000)));
      expect((await stateOf(key))?.last_error).toHaveLength(1000);
    });
  });
});

describe("half-open", () => {
  it("lets exactly one of 20 concurrent callers probe after the cooldown; its success closes the breaker", async () => {
    const key = breakerKey("global", `probe-${tag()}`, a.tenant.id);
    await withConfig({ SKILL_BREAKER_COOLDOWN_S: "1" }, () =>
      as(a, async () => {
        await failTimes(key, 5);
        expect(await rejection(acquire(key))).toBeInstanceOf(CircuitOpenError);
        await new Promise((r) => setTimeout(r, 1100));

        const results = await Promise.allSettled(Array.from({ length: 20 }, () => acquire(key)));
        const permits = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
        expect(permits).toHaveLength(1);
        expect(refused).toHaveLength(19);
        for (const e of refused) expect(e).toBeInstanceOf(CircuitOpenError);
        const probe = permits[0] as Permit;
        expect(probe.probeId).toMatch(/^[0-9a-f-]{36}$/);
        expect(await stateOf(key)).toMatchObject({ state: "HALF_OPEN", probe_id: probe.probeId });
        expect(await metric("m11_circuit_breaker_state", key.target)).toBe(2);
        // While the probe is out, nobody else gets through.
        expect(await rejection(acquire(key))).toBeInstanceOf(CircuitOpenError);

        await succeed(probe);
        expect(await stateOf(key)).toMatchObject({ state: "CLOSED", failure_count: 0, probe_id: null });
        expect((await acquire(key)).probeId).toBeNull();
        expect(await metric("m11_circuit_breaker_state", key.target)).toBe(0);
        expect(await metric("m11_circuit_breaker_closes_total", key.target)).toBe(1);
      }),
    );
    // A shared breaker's history lives under the platform tenant, never under the caller's.
    expect(steps(await transitions(SYSTEM_TENANT_ID, key.target))).toEqual([
      "CLOSED->OPEN",
      "OPEN->HALF_OPEN",
      "HALF_OPEN->CLOSED",
    ]);
    expect(await transitions(a.tenant.id, key.target)).toEqual([]);
  });

  it("re-opens with a fresh cooldown when the probe fails", async () => {
    const key = breakerKey("tenant", `webhook:reopen-${tag()}.example`, a.tenant.id);
    await withConfig({ SKILL_BREAKER_COOLDOWN_S: "1" }, () =>
      as(a, async () => {
        await failTimes(key, 5);
        const first = await stateOf(key);
        await new Promise((r) => setTimeout(r, 1100));
        const probe = await acquire(key);
        expect(probe.probeId).not.toBeNull();
        await fail(probe, boom(key.target));
        const again = await stateOf(key);
        expect(again).toMatchObject({ state: "OPEN", probe_id: null });
        expect(again?.cooldown_until?.getTime()).toBeGreaterThan((first?.cooldown_until?.getTime() ?? 0) + 1000);
        const err = await rejection(acquire(key));
        expect(err).toBeInstanceOf(CircuitOpenError);
        expect((err as CircuitOpenError).retryAfterS).toBe(1);
      }),
    );
    expect(steps(await transitions(a.tenant.id, key.target))).toEqual([
      "CLOSED->OPEN",
      "OPEN->HALF_OPEN",
      "HALF_OPEN->OPEN",
    ]);
  });

  it("gives the probe to another caller once the first probe's permit lapsed; the late answer changes nothing", async () => {
    const clk = new ManualClock(Date.now());
    setClock(clk);
    const key = breakerKey("tenant", `webhook:lapse-${tag()}.example`, a.tenant.id);
    await as(a, async () => {
      await failTimes(key, 5);
      clk.advance(config().skills.breaker.cooldownS * 1000);
      const stale = await acquire(key);
      expect(stale.probeId).not.toBeNull();
      clk.advance(PROBE_LEASE_MS - 1);
      expect(await rejection(acquire(key))).toBeInstanceOf(CircuitOpenError);
      clk.advance(1);
      const fresh = await acquire(key);
      expect(fresh.probeId).not.toBeNull();
      expect(fresh.probeId).not.toBe(stale.probeId);
      await succeed(stale);
      expect((await stateOf(key))?.state).toBe("HALF_OPEN");
      await fail(stale, boom(key.target));
      expect(await stateOf(key)).toMatchObject({ state: "HALF_OPEN", probe_id: fresh.probeId });
      await succeed(fresh);
      expect((await stateOf(key))?.state).toBe("CLOSED");
    });
    expect(steps(await transitions(a.tenant.id, key.target))).toEqual([
      "CLOSED->OPEN",
      "OPEN->HALF_OPEN",
      "HALF_OPEN->HALF_OPEN",
      "HALF_OPEN->CLOSED",
    ]);
  });
});

describe("shared state", () => {
  it("is the same for two pools: failures through one instance open the breaker the other sees", async () => {
    const key = breakerKey("global", `two-pools-${tag()}`, a.tenant.id);
    const p1 = await pool();
    const p2 = await createPool({ url: config().databaseUrl, driver: "pg", max: 5, statementTimeoutMs: 15000 });
    try {
      await as(a, async () => {
        setPool(p1);
        await failTimes(key, 3);
        setPool(p2);
        expect(await stateOf(key)).toMatchObject({ state: "CLOSED", failure_count: 3 });
        await failTimes(key, 1);
        setPool(p1);
        await failTimes(key, 1);
        setPool(p2);
        expect(await rejection(acquire(key))).toBeInstanceOf(CircuitOpenError);
        setPool(p1);
        expect(await rejection(acquire(key))).toBeInstanceOf(CircuitOpenError);
      });
    } finally {
      setPool(p1);
      await p2.end();
    }
  });

  it("keeps a tenant's breaker to that tenant, and a shared one for all", async () => {
    const target = `webhook:scoped-${tag()}.example`;
    const shared = `shared-${tag()}`;
    await as(a, () => failTimes(breakerKey("tenant", target, a.tenant.id), 5));
    await as(a, () => failTimes(breakerKey("global", shared, a.tenant.id), 5));
    await as(b, async () => {
      const mine = breakerKey("tenant", target, b.tenant.id);
      expect(await acquire(mine)).toEqual({ key: mine, probeId: null, failuresSeen: 0 });
      await fail(await acquire(mine), boom(target));
      expect(await stateOf(mine)).toMatchObject({ state: "CLOSED", failure_count: 1 });
      expect(await rejection(acquire(breakerKey("global", shared, b.tenant.id)))).toBeInstanceOf(CircuitOpenError);
    });
    expect(await stateOf({ tenantId: a.tenant.id, target })).toMatchObject({ state: "OPEN", failure_count: 5 });
    expect(await transitions(b.tenant.id, target)).toEqual([]);
  });
});

describe("store failures", () => {
  it("fails open: a permit, no throw, a warning and aos_skill_breaker_store_errors_total", async () => {
    const key = breakerKey("global", `fail-open-${tag()}`, a.tenant.id);
    const lines: string[] = [];
    const storeErrors = async () => ({
      acquire: await metric("aos_skill_breaker_store_errors_total", "acquire", "op"),
      fail: await metric("aos_skill_breaker_store_errors_total", "fail", "op"),
      succeed: await metric("aos_skill_breaker_store_errors_total", "succeed", "op"),
    });
    const before = await storeErrors();
    await withConfig({ LOG_LEVEL: "warn" }, () =>
      withPostgresAway(async () => {
        const prevSink = setLogSink((l) => lines.push(l));
        try {
          await as(a, async () => {
            const permit = await acquire(key);
            expect(permit).toEqual({ key, probeId: null });
            await expect(fail(permit, boom(key.target))).resolves.toBeUndefined();
            await expect(succeed(permit)).resolves.toBeUndefined();
            await expect(succeed({ key, probeId: randomUUID() })).resolves.toBeUndefined();
          });
        } finally {
          setLogSink(prevSink);
        }
      }),
    );
    // By operation, not by target (a target may be a tenant's host): 4 in all.
    expect(await storeErrors()).toEqual({
      acquire: before.acquire + 1,
      fail: before.fail + 1,
      succeed: before.succeed + 2,
    });
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.msg.includes("fail open"));
    expect(warnings.map((w) => w.op)).toEqual(["acquire", "fail", "succeed", "succeed"]);
    for (const w of warnings) expect(w).toMatchObject({ level: "warn", target: key.target });
    expect(lines.join("\n")).not.toContain(":pw@");
    // Nothing was written while the store was away, and it works again once back.
    expect(await stateOf(key)).toBeUndefined();
    await as(a, () => failTimes(key, 5));
    expect(await as(a, () => rejection(acquire(key)))).toBeInstanceOf(CircuitOpenError);
  });
});

describe("status history", () => {
  it("records a transition in the transaction of the change: a rollback leaves neither", async () => {
    const key = breakerKey("tenant", `webhook:tx-${tag()}.example`, a.tenant.id);
    const err = await as(a, () =>
      rejection(
        withTx(async () => {
          await failTimes(key, 5);
          expect((await stateOf(key))?.state).toBe("OPEN");
          expect(steps(await transitions(a.tenant.id, key.target))).toEqual(["CLOSED->OPEN"]);
          throw new Error("rolled back on purpose");
        }),
      ),
    );
    expect((err as Error).message).toMatch(/rolled back on purpose|Internal error/);
    expect(await stateOf(key)).toBeUndefined();
    expect(await transitions(a.tenant.id, key.target)).toEqual([]);
  });
});
