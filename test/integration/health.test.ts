/**
 * core/platform/health.ts against the harness's Postgres, Redis, s3rver and fauxqs, then with
 * one dependency pointed at a closed port or at a server that never answers.
 */

import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { checkHealth, downChecks, scrub } from "../../core/platform/health.ts";
import { withConfig } from "../setup/config-override.ts";
import { closedPort } from "../setup/net.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Accepts TCP connections and never says a word. */
async function silentServer(): Promise<number> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  );
  return (srv.address() as AddressInfo).port;
}

describe("checkHealth", () => {
  it("is ok with every dependency of the harness up", async () => {
    const h = await checkHealth();
    expect(h.status).toBe("ok");
    for (const name of ["postgres", "redis", "s3", "sqs"] as const) {
      expect(h.checks[name]).toEqual({ ok: true, latencyMs: expect.any(Number) });
      expect(h.checks[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(downChecks(h)).toEqual([]);
  });

  it("checks every queue on one signal without a MaxListenersExceededWarning (one per /health otherwise)", async () => {
    expect(Object.keys(config().sqs.queueUrls).length).toBeGreaterThan(10);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      for (let i = 0; i < 3; i++) expect((await checkHealth()).status).toBe("ok");
      await new Promise((r) => setTimeout(r, 50)); // warnings are emitted on a later tick
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w === "MaxListenersExceededWarning")).toEqual([]);
  });

  it("names redis as down when it is pointed at a closed port, and still times the others", async () => {
    const port = await closedPort();
    const h = await withConfig({ REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}` }, () => checkHealth());
    expect(h.status).toBe("degraded");
    expect(downChecks(h)).toEqual(["redis"]);
    expect(h.checks.redis).toMatchObject({ ok: false, latencyMs: expect.any(Number) });
    expect(h.checks.redis.error).toMatch(/ECONNREFUSED|MaxRetriesPerRequest/);
    expect(JSON.stringify(h)).not.toContain("hunter2");
    for (const name of ["postgres", "s3", "sqs"] as const) {
      expect(h.checks[name]).toEqual({ ok: true, latencyMs: expect.any(Number) });
    }
  });

  it("reports a dependency that never answers as timed out after its own timeout, without waiting for it", async () => {
    const port = await silentServer();
    let took = 0;
    // The Redis client's own deadline (REDIS_COMMAND_TIMEOUT_MS) set above the check's, so the check's fires.
    const h = await withConfig(
      { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: "5000" },
      async () => {
        const started = Date.now();
        const report = await checkHealth({ timeoutMs: 300 });
        took = Date.now() - started;
        return report;
      },
    );
    expect(downChecks(h)).toEqual(["redis"]);
    expect(h.checks.redis.error).toBe("Timeout: no answer within 300 ms");
    expect(h.checks.redis.latencyMs).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_000);
    expect(h.checks.postgres.ok).toBe(true);
  });

  it("names postgres, s3 and sqs when they are unreachable, leaking no credentials", async () => {
    const port = await closedPort();
    const h = await withConfig(
      {
        DATABASE_URL: `postgres://aos:pg-s3cret@127.0.0.1:${port}/aos`,
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        SQS_ENDPOINT: `http://127.0.0.1:${port}`,
      },
      () => checkHealth(),
    );
    expect(downChecks(h)).toEqual(["postgres", "s3", "sqs"]);
    expect(h.checks.postgres.error).toMatch(/^db\.unavailable: /);
    expect(h.checks.s3.error).toMatch(/^s3\.unavailable: /);
    expect(h.checks.sqs.error).toMatch(/^queue\.unavailable: .*Events \(ECONNREFUSED\)/);
    expect(h.checks.redis.ok).toBe(true);
    expect(JSON.stringify(h)).not.toContain("pg-s3cret");
  });
});

describe("scrub", () => {
  it("removes credentials from URLs, secret parameters and API keys", () => {
    const s = scrub(
      "connect to postgres://app:pa55word@db.example.com:5432/aos?password=x1 failed; " +
        "redis://:tok3n@cache:6379; https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef&X-Amz-Credential=AKIA/x; key aos_live_0123456789abcdef",
    );
    expect(s).toContain("postgres://***@db.example.com:5432/aos");
    for (const secret of ["pa55word", "x1 ", "tok3n", "abcdef", "AKIA", "0123456789abcdef"]) {
      expect(s).not.toContain(secret);
    }
  });
});
