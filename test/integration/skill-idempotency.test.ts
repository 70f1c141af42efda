/**
 * Idempotent skill executions (core/skills/idempotency.ts) on real Postgres: one execution per
 * tenant + skill + key, also under 20 concurrent callers; replay of results and final failures;
 * conflicts on other args; lease takeover with fencing; retryable failures freeing the key; the
 * retention sweep.
 */
import { createHash, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import type { AppError } from "../../core/errors.ts";
import { clock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { ExecutionInProgressError, IdempotencyConflictError, UpstreamError } from "../../core/skills/errors.ts";
import { begin, type Claim, fail, succeed, sweep } from "../../core/skills/idempotency.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";

interface Tenant {
  id: string;
  keyId: string;
}
let tenantA: Tenant;
let tenantB: Tenant;

beforeAll(async () => {
  const a = await makeTenantWithKeys();
  const b = await makeTenantWithKeys();
  tenantA = { id: a.tenant.id, keyId: a.keys.agent.id };
  tenantB = { id: b.tenant.id, keyId: b.keys.agent.id };
});

const as = <T>(t: Tenant, fn: () => Promise<T>) =>
  withContext(
    {
      requestId: randomUUID(),
      correlationId: randomUUID(),
      actor: { type: "key", keyId: t.keyId, tenantId: t.id, role: "agent" },
    },
    fn,
  );

const hash = (s: string) => createHash("sha256").update(s).digest("hex");
const newKey = () => `key-${randomUUID()}`;
const input = (key: string, args = "args-1", leaseMs = 30_000) => ({
  skill: "kv_store",
  version: "1.0.0",
  key,
  argsHash: hash(args),
  leaseMs,
});

/** Each call's outcome: its claim, or the error it threw. */
async function settle(calls: Promise<Claim>[]) {
  const out = await Promise.allSettled(calls);
  return {
    executes: out.flatMap((o) => (o.status === "fulfilled" && o.value.kind === "execute" ? [o.value] : [])),
    inProgress: out.flatMap((o) =>
      o.status === "rejected" && o.reason instanceof ExecutionInProgressError ? [o.reason] : [],
    ),
    conflicts: out.flatMap((o) =>
      o.status === "rejected" && o.reason instanceof IdempotencyConflictError ? [o.reason] : [],
    ),
    other: out.filter(
      (o) =>
        (o.status === "fulfilled" && o.value.kind !== "execute") ||
        (o.status === "rejected" &&
          !(o.reason instanceof ExecutionInProgressError || o.reason instanceof IdempotencyConflictError)),
    ),
  };
}

async function rowOf(tenantId: string, key: string) {
  const { rows } = await query<{ status: string; attempts: number; error: unknown; errorText: string | null }>(
    `select status, attempts, error, error::text as "errorText" from skill_executions
      where tenant_id = $1 and skill = 'kv_store' and idempotency_key = $2`,
    [tenantId, key],
  );
  return rows[0];
}

describe("begin / succeed: one execution, then replays", () => {
  it("executes the first call and replays the stored result for the same key and args", async () => {
    const key = newKey();
    const result = { value: "v", nested: [1, 2, { ok: true }] };

    const first = await as(tenantA, () => begin(input(key)));
    expect(first).toMatchObject({ kind: "execute", attempts: 1 });
    if (first.kind !== "execute") throw new Error("unreachable");
    expect(await as(tenantA, () => succeed(first.id, first.attempts, result, 12.6))).toBe(true);
    const second = await as(tenantA, () => begin(input(key)));

    expect(second).toEqual({
      kind: "replay",
      id: first.id,
      result,
      durationMs: 13,
      completedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    // A result can only be stored once: the row is no longer running.
    expect(await as(tenantA, () => succeed(first.id, first.attempts, { value: "other" }, 1))).toBe(false);
    expect(await as(tenantA, () => begin(input(key)))).toMatchObject({ kind: "replay", result });
  });

  it("refuses the same key with other args, while running and after success", async () => {
    const key = newKey();
    const first = await as(tenantA, () => begin(input(key, "args-1")));
    if (first.kind !== "execute") throw new Error("expected execute");

    const whileRunning = await as(tenantA, () => begin(input(key, "args-2"))).catch((e: unknown) => e);
    expect(whileRunning).toBeInstanceOf(IdempotencyConflictError);
    expect(whileRunning).toMatchObject({ code: "skills.idempotency_conflict", kind: "conflict" });

    await as(tenantA, () => succeed(first.id, first.attempts, { ok: 1 }, 5));
    const afterSuccess = await as(tenantA, () => begin(input(key, "args-2"))).catch((e: unknown) => e);
    expect(afterSuccess).toBeInstanceOf(IdempotencyConflictError);
    expect(afterSuccess).toMatchObject({ code: "skills.idempotency_conflict" });
    // The refusal changed nothing: the original args still replay.
    expect(await as(tenantA, () => begin(input(key, "args-1")))).toMatchObject({ kind: "replay", result: { ok: 1 } });
  });

  it("answers a second call while the first still runs with skills.in_progress and a Retry-After", async () => {
    const key = newKey();
    await as(tenantA, () => begin(input(key, "args-1", 10_000)));
    const e = await as(tenantA, () => begin(input(key))).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ExecutionInProgressError);
    expect(e).toMatchObject({ code: "skills.in_progress", retryable: true });
    expect((e as AppError).retryAfterS).toBeGreaterThanOrEqual(9);
    expect((e as AppError).retryAfterS).toBeLessThanOrEqual(10);
  });
});

describe("concurrent callers", () => {
  it("20 concurrent calls with the same key and args: exactly one executes, 19 are in progress", async () => {
    const key = newKey();
    const r = await settle(Array.from({ length: 20 }, () => as(tenantA, () => begin(input(key)))));

    expect(r.executes).toHaveLength(1);
    expect(r.inProgress).toHaveLength(19);
    expect(r.other).toEqual([]);
    for (const e of r.inProgress) {
      expect(e.code).toBe("skills.in_progress");
      expect(e.retryAfterS).toBeGreaterThanOrEqual(1);
    }
    expect(await rowOf(tenantA.id, key)).toMatchObject({ status: "running", attempts: 1 });
  });

  it("20 concurrent calls with mixed args: one executes, the same-args ones wait, the others conflict", async () => {
    const key = newKey();
    const args = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "args-even" : "args-odd"));
    const r = await settle(args.map((a) => as(tenantA, () => begin(input(key, a)))));

    expect(r.executes).toHaveLength(1);
    expect(r.other).toEqual([]);
    // Ten callers share the winner's args (9 others of them wait), ten have the other args.
    expect(r.inProgress).toHaveLength(9);
    expect(r.conflicts).toHaveLength(10);
    expect(r.conflicts.every((e) => e.code === "skills.idempotency_conflict")).toBe(true);
  });
});

describe("lease expiry", () => {
  it("takes over a running row whose lease ended; the old caller's result is fenced off", async () => {
    const key = newKey();
    const first = await as(tenantA, () => begin(input(key, "args-1", 50)));
    if (first.kind !== "execute") throw new Error("expected execute");
    await clock().sleep(100);

    const second = await as(tenantA, () => begin(input(key, "args-1", 30_000)));
    expect(second).toEqual({ kind: "execute", id: first.id, attempts: 2 });

    // The presumed-dead caller comes back: it stores nothing, and cannot free the key either.
    expect(await as(tenantA, () => succeed(first.id, 1, { from: "old" }, 1))).toBe(false);
    expect(await as(tenantA, () => fail(first.id, 1, new UpstreamError("x", "boom", { retryable: true }), 1))).toBe(
      false,
    );
    expect(await as(tenantA, () => succeed(first.id, 2, { from: "new" }, 1))).toBe(true);
    expect(await as(tenantA, () => begin(input(key)))).toMatchObject({ kind: "replay", result: { from: "new" } });
  });

  it("of 20 concurrent callers after the lease ended, exactly one takes over", async () => {
    const key = newKey();
    await as(tenantA, () => begin(input(key, "args-1", 50)));
    await clock().sleep(100);

    const r = await settle(Array.from({ length: 20 }, () => as(tenantA, () => begin(input(key)))));

    expect(r.executes).toHaveLength(1);
    expect(r.executes[0]?.attempts).toBe(2);
    expect(r.inProgress).toHaveLength(19);
    expect(r.other).toEqual([]);
    expect(await rowOf(tenantA.id, key)).toMatchObject({ status: "running", attempts: 2 });
  });
});

describe("failures", () => {
  it("a retryable failure frees the key: the next call executes again", async () => {
    const key = newKey();
    const first = await as(tenantA, () => begin(input(key)));
    if (first.kind !== "execute") throw new Error("expected execute");

    const err = new UpstreamError("api.example", "upstream 503", { retryable: true, status: 503 });
    expect(await as(tenantA, () => fail(first.id, first.attempts, err, 30))).toBe(true);
    expect(await rowOf(tenantA.id, key)).toBeUndefined();

    const again = await as(tenantA, () => begin(input(key)));
    expect(again).toMatchObject({ kind: "execute", attempts: 1 });
    expect(again.kind === "execute" && again.id).not.toBe(first.id);
  });

  it("a final failure is stored and replayed as replay_error, without its stack or cause", async () => {
    const key = newKey();
    const first = await as(tenantA, () => begin(input(key)));
    if (first.kind !== "execute") throw new Error("expected execute");
    const err = new UpstreamError("api.example", "upstream refused the request (400)", {
      retryable: false,
      status: 400,
      cause: new Error("cause-marker: postgres://user:hunter2@db"),
    });

    expect(await as(tenantA, () => fail(first.id, first.attempts, err, 7))).toBe(true);
    const replay = await as(tenantA, () => begin(input(key)));

    expect(replay).toEqual({
      kind: "replay_error",
      id: first.id,
      error: {
        kind: "bad_gateway",
        code: "skills.upstream_error",
        message: "upstream refused the request (400)",
        details: { target: "api.example", upstream_status: 400 },
      },
    });
    const row = await rowOf(tenantA.id, key);
    expect(row?.status).toBe("failed");
    expect(Object.keys(row?.error as object).sort()).toEqual(["code", "details", "kind", "message"]);
    expect(row?.errorText).not.toMatch(/stack|cause|hunter2|at .*\.ts/);
    // Still a conflict for other args: a stored failure holds the key like a result.
    await expect(as(tenantA, () => begin(input(key, "args-2")))).rejects.toBeInstanceOf(IdempotencyConflictError);
  });
});

describe("tenant isolation", () => {
  it("the same key in two tenants makes two independent executions", async () => {
    const key = newKey();
    const a = await as(tenantA, () => begin(input(key, "args-A")));
    // Other args under the same key: no conflict, tenant B's key is its own.
    const b = await as(tenantB, () => begin(input(key, "args-B")));
    expect(a.kind).toBe("execute");
    expect(b.kind).toBe("execute");
    if (a.kind !== "execute" || b.kind !== "execute") throw new Error("unreachable");
    expect(a.id).not.toBe(b.id);

    // A tenant can neither finish nor see the other's execution.
    expect(await as(tenantB, () => succeed(a.id, a.attempts, { by: "B" }, 1))).toBe(false);
    expect(await as(tenantB, () => succeed(b.id, b.attempts, { by: "B" }, 1))).toBe(true);
    expect(await as(tenantB, () => begin(input(key, "args-B")))).toMatchObject({ kind: "replay", result: { by: "B" } });
    // Tenant A's execution is untouched by B's result: still running, still bound to A's args.
    await expect(as(tenantA, () => begin(input(key, "args-A")))).rejects.toBeInstanceOf(ExecutionInProgressError);
    await expect(as(tenantA, () => begin(input(key, "args-B")))).rejects.toBeInstanceOf(IdempotencyConflictError);
  });
});

describe("sweep", () => {
  it("removes finished rows and dead running rows past the TTL, in batches, and keeps the rest", async () => {
    const t = tenantB.id;
    const ins = (key: string, status: string, createdAgoH: number, leaseAgoH: number) =>
      query(
        `insert into skill_executions (tenant_id, skill, skill_version, idempotency_key, args_hash, status,
            result, error, lease_until, created_at, completed_at)
          values ($1, 'kv_store', '1.0.0', $2, $3, $4,
            case when $4 = 'succeeded' then CAST('{"ok":true}' AS jsonb) end,
            case when $4 = 'failed' then CAST('{"kind":"internal","code":"x","message":"m","details":null}' AS jsonb) end,
            now() - make_interval(hours => $6), now() - make_interval(hours => $5),
            case when $4 <> 'running' then now() - make_interval(hours => $5) end)`,
        [t, key, hash("a"), status, createdAgoH, leaseAgoH],
      );
    const prefix = `sweep-${randomUUID()}`;
    await ins(`${prefix}-old-succeeded`, "succeeded", 25, 25);
    await ins(`${prefix}-old-failed`, "failed", 25, 25);
    await ins(`${prefix}-dead-running`, "running", 26, 25);
    await ins(`${prefix}-fresh-succeeded`, "succeeded", 1, 1);
    await ins(`${prefix}-old-but-leased`, "running", 25, -1); // taken over: its lease still runs
    await ins(`${prefix}-recently-dead`, "running", 3, 2);
    // A backlog bigger than two batches.
    await query(
      `insert into skill_executions (tenant_id, skill, skill_version, idempotency_key, args_hash, status, result,
          lease_until, created_at, completed_at)
        select $1, 'kv_store', '1.0.0', $2 || '-bulk-' || g, $3, 'succeeded', CAST('1' AS jsonb),
          now() - interval '30 hours', now() - interval '30 hours', now() - interval '30 hours'
        from generate_series(1, 10001) g`,
      [t, prefix, hash("a")],
    );
    const keys = async () =>
      (
        await query<{ k: string }>(
          `select idempotency_key as k from skill_executions
            where idempotency_key like $1 || '%' and idempotency_key not like '%-bulk-%' order by 1`,
          [prefix],
        )
      ).rows.map((r) => r.k.slice(prefix.length + 1));

    // Rejecting: with a 48 h TTL nothing here is old enough.
    expect(await withConfig({ SKILL_IDEMPOTENCY_TTL_H: "48" }, () => sweep())).toBe(0);

    const removed = await sweep();

    expect(removed).toBe(10001 + 3);
    expect(await keys()).toEqual(["fresh-succeeded", "old-but-leased", "recently-dead"]);
    expect(await sweep()).toBe(0);
  });
});
