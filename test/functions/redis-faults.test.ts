/**
 * Redis faults through the real HTTP handlers, with the fault proxy (bench/fault-proxy.ts) between
 * AOS and Redis: frozen (accepts, never answers), refused, reset, slower than the command
 * deadline. Redis is a cache and a coordination aid, not a single point of failure:
 * - a route that does not need Redis (an authenticated Postgres read) answers 200 at its normal
 *   latency plus at most 250 ms (authentication reads Postgres when the key cache fails);
 * - a route that needs it (kv_store) answers 503 `skills.kv_unavailable` within 1 s;
 * - a breaker's shared copy failing falls back to Postgres (test/integration/breaker.test.ts);
 * - metric flushes fail bounded and are counted (test/integration/metrics.test.ts);
 * - when Redis is back, everything recovers by itself within the client's backoff, and a write
 *   kv_store acknowledged before the fault is still there.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../bench/fault-proxy.ts";
import { config } from "../../core/config.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";

const env = inject("aos");
const KV = "/api/v1/skills/kv_store/execute";
const COMMAND_TIMEOUT_MS = 200;
const BACKOFF_MS = 500;

let proxy: FaultProxy;
let resetter: NodeJS.Timeout | undefined;
let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  const at = new URL(env.redisUrl);
  proxy = await startFaultProxy({ host: at.hostname, port: Number(at.port || 6379) });
  t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 1_000_000);
});
afterAll(async () => {
  await proxy.close();
});

/** Run `fn` with AOS's Redis behind the proxy (fresh clients, so no key cache from before). */
function viaProxy<T>(fn: () => Promise<T>): Promise<T> {
  const url = new URL(config().redisUrl);
  url.host = proxy.address;
  return withConfig(
    {
      REDIS_URL: url.toString(),
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      REDIS_BACKOFF_MS: String(BACKOFF_MS),
    },
    fn,
  );
}

async function timed(method: string, path: string, o: { key: string; body?: unknown }) {
  const t0 = performance.now();
  const res = await invoke(method, path, o);
  return { res, ms: performance.now() - t0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** `n` sequential GET /api/v1/jobs by a viewer: statuses and the median latency. */
async function postgresRoute(n: number): Promise<{ statuses: number[]; p50: number }> {
  const statuses: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await timed("GET", "/api/v1/jobs", { key: t.keys.viewer.key });
    statuses.push(r.res.status);
    ms.push(r.ms);
  }
  return { statuses, p50: median(ms) };
}

const kvGet = (key: string) => timed("POST", KV, { key: t.keys.agent.key, body: { args: { op: "get", key } } });

describe.each([
  ["frozen", (p: FaultProxy) => p.freeze()],
  ["refusing connections", (p: FaultProxy) => p.refuse()],
  [
    "resetting every connection (every 50 ms)",
    async (p: FaultProxy) => {
      await p.reset();
      resetter = setInterval(() => void p.reset(), 50);
    },
  ],
  ["slower than the command deadline", (p: FaultProxy) => p.slow(COMMAND_TIMEOUT_MS + 150)],
] as const)("Redis %s", (_name, apply) => {
  it("Postgres routes keep their latency (+250 ms at most), kv_store answers 503 within 1 s, and all recovers", async () => {
    await viaProxy(async () => {
      const set = await invoke("POST", KV, {
        key: t.keys.agent.key,
        body: { args: { op: "set", key: "kept", value: "before" } },
      });
      expect(set.status).toBe(200);
      const normal = await postgresRoute(9);
      expect(new Set(normal.statuses)).toEqual(new Set([200]));

      await apply(proxy);
      try {
        // A key nobody cached yet (auth must read Postgres), then the usual one.
        const fresh = await makeTenantWithKeys();
        const first = await timed("GET", "/api/v1/jobs", { key: fresh.keys.viewer.key });
        expect(first.res.status).toBe(200);
        expect(first.ms).toBeLessThan(normal.p50 + COMMAND_TIMEOUT_MS + 250);
        const faulted = await postgresRoute(9);
        expect(new Set(faulted.statuses)).toEqual(new Set([200]));
        console.log(`Redis ${_name}: GET /api/v1/jobs p50 ${normal.p50.toFixed(0)} -> ${faulted.p50.toFixed(0)} ms`);
        expect(faulted.p50).toBeLessThan(normal.p50 + 250);

        for (let i = 0; i < 3; i++) {
          const kv = await kvGet("kept");
          expect(kv.res.status).toBe(503);
          expect(kv.res.body.error.code).toBe("skills.kv_unavailable");
          expect(kv.ms).toBeLessThan(1_000);
        }
      } finally {
        clearInterval(resetter);
        await proxy.pass();
      }

      // Back: within the backoff (plus a margin), kv_store answers again, and the write is there.
      const until = performance.now() + BACKOFF_MS + 2_000;
      let back: Awaited<ReturnType<typeof kvGet>> | undefined;
      while (performance.now() < until) {
        back = await kvGet("kept");
        if (back.res.status === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(back?.res.status).toBe(200);
      expect(back?.res.body.result).toEqual({ op: "get", value: "before", found: true });
    });
  });
});
