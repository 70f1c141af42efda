/**
 * The cost simulator's safety net through a real PgBouncer in transaction pooling mode (Neon's
 * pooled endpoint is one): issue 19 asks for leader election "that works on Neon's pooled
 * endpoint as well as on a direct connection", and for exactly one of many recoverers.
 *
 * - The control: through the pooler, a session advisory lock elects two leaders (both clients
 *   share one server session), which is why the canary does not use one.
 * - AOS's own pool pointed at PgBouncer: shadow comparisons recorded (the upsert that keeps the
 *   input), five canaries at once (one runs the recorded inputs again, four step aside),
 *   and 20 concurrent recoverers after the TTL (one recovery, one `enabled` transition).
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as Costsim from "../../core/costsim/index.ts";
import { CanaryRunningError } from "../../core/costsim/index.ts";
import { openBreaker } from "../../core/platform/breaker/index.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { createPool, type Pool, pool, query, setPool } from "../../core/platform/db/index.ts";
import { redis } from "../../core/platform/redis.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { canariesAtOnce } from "../setup/canary-barrier.ts";
import { type PgBouncer, startPgbouncer } from "../setup/pgbouncer.ts";

const tag = () => randomBytes(4).toString("hex");
const asSystem = <T>(fn: () => Promise<T>) =>
  withContext(
    { requestId: randomUUID(), correlationId: randomUUID(), actor: { type: "system", name: "pooler-test" } },
    fn,
  );

let pgb: PgBouncer;
let direct: Pool;
let pooled: Pool;

beforeAll(async () => {
  const app = new URL(config().databaseUrl);
  pgb = await startPgbouncer({
    users: [decodeURIComponent(app.username)],
    // More server connections than the test's clients: each waiting statement has its own, as on
    // Neon; sequential statements still share one (PgBouncer reuses the last used, LIFO).
    poolSize: 10,
    serverHost: app.hostname,
    serverPort: Number(app.port || 5432),
  });
  direct = await pool();
  // AOS's pool as a Lambda would have it on Neon's pooled URL: no startup statement_timeout.
  pooled = await createPool({ url: pgb.urlFor(config().databaseUrl), driver: "pg", max: 10, statementTimeoutMs: 0 });
  await query("delete from costsim_canary_reports");
  await query("delete from costsim_provenance_inputs");
  await query("delete from circuit_breaker_state where kind = 'costsim'");
  await redis().del("breaker:costsim:-:v2");
  Costsim.forgetBreakerCache();
});
afterAll(async () => {
  setPool(direct);
  await pooled?.end();
  await pgb?.stop();
});
afterEach(() => {
  setPool(direct);
  setClock(systemClock);
});

/** Run `fn` with AOS's pool going through PgBouncer. */
async function viaPooler<T>(fn: () => Promise<T>): Promise<T> {
  setPool(pooled);
  try {
    return await fn();
  } finally {
    setPool(direct);
  }
}

describe("through PgBouncer (transaction pooling)", () => {
  it("the control: a session advisory lock is granted to two clients one after the other (they share a server session)", async () => {
    const a = new pg.Client({ connectionString: pgb.urlFor(config().databaseUrl) });
    const b = new pg.Client({ connectionString: pgb.urlFor(config().databaseUrl) });
    await a.connect();
    await b.connect();
    try {
      const key = 7_000_000 + Math.floor(Math.random() * 1000);
      const [ga, gb] = [
        (await a.query("select pg_try_advisory_lock($1) as got, pg_backend_pid() as pid", [key])).rows[0],
        (await b.query("select pg_try_advisory_lock($1) as got, pg_backend_pid() as pid", [key])).rows[0],
      ];
      expect(ga.pid).toBe(gb.pid);
      expect([ga.got, gb.got]).toEqual([true, true]); // two "leaders"
      await a.query("select pg_advisory_unlock_all()");
    } finally {
      await a.end();
      await b.end();
    }
  });

  it("records shadow comparisons with their inputs; five canaries at once: one runs them again, four step aside", async () => {
    const w = await makeTenantWithKeys();
    await viaPooler(async () => {
      for (let i = 0; i < 3; i++) {
        const outcome = await Costsim.runShadow(
          {
            v: 1,
            tenantId: w.tenant.id,
            plan: Costsim.planOf({
              workflow: { steps: [{ id: `get_${tag()}`, skill: "kv_store", args: { op: "get", key: "k" } }] },
            }),
            options: { availableCredits: 100 },
            planRef: "inline",
            skills: ["kv_store"],
            at: new Date(Date.now() - i * 1000).toISOString(),
          },
          async () => ({}),
        );
        expect(outcome.outcome).toBe("done");
      }
      const runs = await canariesAtOnce(5, () => asSystem(() => Costsim.runCanary({ trigger: "schedule" })));
      const ran = runs.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const aside = runs.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      expect(ran).toHaveLength(1);
      expect(aside).toHaveLength(4);
      for (const e of aside) expect(e).toBeInstanceOf(CanaryRunningError);
      expect(ran[0]).toMatchObject({ status: "passed", report: { recent: { inputs: 3, samples: 3, unreadable: 0 } } });
    });
    const stored = (await query<{ status: string }>("select status from costsim_canary_reports")).rows;
    expect(stored).toEqual([{ status: "passed" }]);
  });

  it("20 concurrent recoverers after the TTL: exactly one recovers", async () => {
    await query("delete from costsim_canary_reports");
    const clock = new ManualClock(Date.now());
    setClock(clock);
    await viaPooler(async () => {
      await asSystem(() =>
        openBreaker(Costsim.driftBreaker, Costsim.BREAKER_KEY, {
          reason: "p95 drift 0.61 > COSTSIM_DRIFT_THRESHOLD 0.2",
          metadata: { trigger: "drift", figures: { samples: 40, p95_drift: 0.61, drift_threshold: 0.2 } },
        }),
      );
      clock.advance(24 * 3600_000 + 1000);
      await query("delete from costsim_provenance_inputs");
      expect((await asSystem(() => Costsim.runCanary({ trigger: "api" }))).status).toBe("passed");
      const results = await Promise.all(Array.from({ length: 20 }, () => asSystem(() => Costsim.recover())));
      expect(results.filter((r) => r.recovered)).toHaveLength(1);
      expect(results.filter((r) => !r.recovered).map((r) => (r.recovered ? "" : r.why))).toEqual(
        Array.from({ length: 19 }, () => "the breaker is closed"),
      );
    });
    const { rows } = await query<{ old_status: string; new_status: string }>(
      `select old_status, new_status from status_history
        where tenant_id = $1 and entity_type = 'costsim_breaker' order by id`,
      [SYSTEM_TENANT_ID],
    );
    expect(rows.map((r) => `${r.old_status}->${r.new_status}`).slice(-2)).toEqual(["CLOSED->OPEN", "OPEN->CLOSED"]);
    expect(pgb.output()).not.toMatch(/ERROR|FATAL/);
  });
});
