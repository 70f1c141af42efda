/**
 * Seeded backoff: the same (run, op, step) waits the same delays every time, a different run
 * waits different ones, Retry-After is honoured, and only retryable failures are retried.
 * Delays are really waited (the system clock), so the elapsed time is checked too.
 */
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../core/errors.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import { backoffMs, type RetryPolicy, type RetryRecord, withRetries } from "../../core/skills/retry.ts";

const policy: RetryPolicy = { maxAttempts: 4, baseMs: 20, maxMs: 1000, retryAfterMaxS: 1 };
const down = () => new UpstreamError("t", "down", { retryable: true, status: 503 });

/** Fails `failures` times with `error()`, then answers "ok"; returns what was waited. */
async function run(runId: string, failures: number, error: () => Error = down, p = policy) {
  const waits: RetryRecord[] = [];
  let calls = 0;
  const started = performance.now();
  const result = await withRetries(
    { runId, opIndex: 3, step: 0 },
    p,
    async () => {
      calls++;
      if (calls <= failures) throw error();
      return "ok";
    },
    { onRetry: (r) => waits.push(r) },
  );
  return { result, calls, waits, elapsed: performance.now() - started };
}

describe("backoffMs", () => {
  it("is a pure function of run, op, step and attempt, within [d/2, d)", () => {
    const seed = { runId: "run-1", opIndex: 2, step: 0 };
    for (let attempt = 1; attempt <= 8; attempt++) {
      const d = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      const a = backoffMs(seed, attempt, policy);
      expect(backoffMs({ ...seed }, attempt, policy)).toBe(a);
      expect(a).toBeGreaterThanOrEqual(d / 2);
      expect(a).toBeLessThanOrEqual(d);
    }
  });

  it("spreads different runs, ops and steps apart", () => {
    const p = { ...policy, baseMs: 10_000, maxMs: 10_000 };
    const of = (runId: string, opIndex: number, step: number) =>
      [1, 2, 3].map((a) => backoffMs({ runId, opIndex, step }, a, p));
    const base = of("run-1", 0, 0);
    expect(of("run-2", 0, 0)).not.toEqual(base);
    expect(of("run-1", 1, 0)).not.toEqual(base);
    expect(of("run-1", 0, 1)).not.toEqual(base);
  });
});

describe("withRetries", () => {
  it("waits the same delays in two runs with the same seed, and really waits them", async () => {
    const first = await run("run-seeded", 3);
    const second = await run("run-seeded", 3);
    expect(first.result).toBe("ok");
    expect(first.calls).toBe(4);
    expect(first.waits.map((w) => w.attempt)).toEqual([1, 2, 3]);
    expect(second.waits).toEqual(first.waits);
    const total = first.waits.reduce((s, w) => s + w.delay_ms, 0);
    expect(first.elapsed).toBeGreaterThanOrEqual(total - 2);
    const other = await run("another-run", 3);
    expect(other.waits.map((w) => w.delay_ms)).not.toEqual(first.waits.map((w) => w.delay_ms));
  });

  it("waits what Retry-After asks instead of its own backoff", async () => {
    const limited = () => new UpstreamError("t", "slow down", { retryable: true, status: 429, retryAfterMs: 150 });
    const r = await run("run-429", 1, limited);
    expect(r.waits).toEqual([{ step: 0, attempt: 1, delay_ms: 150, error_code: "skills.upstream_error" }]);
    expect(r.elapsed).toBeGreaterThanOrEqual(148);
  });

  it("gives up at once when Retry-After is above the policy's limit", async () => {
    const tooLong = () => new UpstreamError("t", "later", { retryable: true, status: 429, retryAfterMs: 5_000 });
    await expect(run("run-long", 1, tooLong)).rejects.toMatchObject({ retryAfterMs: 5_000 });
  });

  it("never retries a failure that is not retryable", async () => {
    const refused = () => new UpstreamError("t", "bad request", { retryable: false, status: 400 });
    await expect(run("run-400", 1, refused)).rejects.toMatchObject({ upstreamStatus: 400 });
    await expect(run("run-400", 1, () => new ValidationError("no"))).rejects.toBeInstanceOf(ValidationError);
  });

  it("stops after maxAttempts and throws the last failure", async () => {
    await expect(run("run-max", 10, down, { ...policy, maxAttempts: 2 })).rejects.toBeInstanceOf(UpstreamError);
  });

  it("does not start a wait that would end past the deadline", async () => {
    const waits: RetryRecord[] = [];
    const p = { ...policy, baseMs: 10_000, maxMs: 10_000 };
    await expect(
      withRetries({ runId: "r", opIndex: 0, step: 0 }, p, async () => Promise.reject(down()), {
        deadlineMs: Date.now() + 1_000,
        onRetry: (w) => waits.push(w),
      }),
    ).rejects.toBeInstanceOf(UpstreamError);
    expect(waits).toEqual([]);
  });
});
