/**
 * Credits that mean something (issue 14 §4), through the routes on real Postgres, Redis and a
 * Voyage-like server on loopback: items priced by the skill's cost model (a job may add a margin,
 * never go below it), simulate and the charge agreeing to the credit, direct skill executions
 * charged (402 when short, a replay not charged twice, a failed call released), expired holds
 * released by the cron. The credits invariants are asserted after every test.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import * as Credits from "../../core/credits/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { renderMetrics } from "../../core/platform/metrics/index.ts";
import { handler as holdSweep } from "../../functions/cron/skill-idempotency-sweep.ts";
import { invoke, lambdaContext, scheduledEvent } from "../events/index.ts";
import { checkedKeyedTenants, workItems } from "../factories/jobs.ts";
import type { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { takeMessages } from "../setup/sqs-reader.ts";
import { startVoyageServer, type VoyageServer } from "../setup/voyage-server.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;

const tenant = checkedKeyedTenants();
const tag = () => randomBytes(4).toString("hex");
const API_KEY = "vk-test-credits-1";
let voyage: VoyageServer;
const voyageEnv = () => ({ VOYAGE_API_KEY: API_KEY, VOYAGE_BASE_URL: voyage.url, VOYAGE_MAX_BATCH: "128" });

beforeAll(async () => {
  voyage = await startVoyageServer({ apiKey: API_KEY });
  await takeMessages("JobItems", 0);
});
afterAll(() => voyage.close());

const figures = async (t: Tenant) => (await invoke("GET", "/api/v1/credits", { key: t.keys.viewer.key })).body;
const execute = (t: Tenant, skill: string, args: unknown, idempotency_key?: string) =>
  invoke("POST", `/api/v1/skills/${skill}/execute`, {
    key: t.keys.agent.key,
    body: { args, ...(idempotency_key ? { idempotency_key } : {}) },
  });
const hundredTexts = Array.from({ length: 100 }, (_, i) => `text number ${i}`);

describe("direct skill executions are charged", () => {
  it("kv_store costs 1 per call: charged once, a replay not again, a failed call released, 402 when short", async () => {
    const t = await tenant(3);
    const key = `k-${tag()}`;
    const first = await execute(t, "kv_store", { op: "incr", key }, "idem-1");
    expect([first.status, first.body.credits_charged]).toEqual([200, 1]);
    expect(await figures(t)).toMatchObject({ balance: 2, reserved: 0, available: 2 });

    const replay = await execute(t, "kv_store", { op: "incr", key }, "idem-1");
    expect(replay.body).toMatchObject({ replayed: true, credits_charged: 0, result: { value: 1 } });
    expect((await figures(t)).balance).toBe(2);

    // A refusal by the skill itself (incr on a string): nothing charged, the hold released.
    await execute(t, "kv_store", { op: "set", key: `${key}-s`, value: "text" });
    const failed = await execute(t, "kv_store", { op: "incr", key: `${key}-s` });
    expect([failed.status, failed.body.error.code]).toEqual([400, "skills.kv_not_integer"]);
    expect(await figures(t)).toMatchObject({ balance: 1, reserved: 0, available: 1 });

    await execute(t, "kv_store", { op: "get", key });
    const refused = await execute(t, "kv_store", { op: "incr", key }, "idem-2");
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({ code: "credits.insufficient", details: { required: 1, available: 0 } });
    expect(await query("select 1 from credit_holds where tenant_id = $1", [t.tenant.id])).toMatchObject({
      rowCount: 0,
    });

    // The refused key was freed: after a top-up, the same call with the same key runs (once).
    await invoke("POST", "/api/v1/credits/grants", {
      key: t.keys.admin.key,
      body: { tenant_id: t.tenant.id, amount: 5, reason: "top-up" },
    });
    const again = await execute(t, "kv_store", { op: "incr", key }, "idem-2");
    expect(again.body).toMatchObject({ replayed: false, credits_charged: 1, result: { value: 2 } });
    expect(await figures(t)).toMatchObject({ balance: 4, reserved: 0 });

    const ledger = await invoke("GET", "/api/v1/credits/ledger", { key: t.keys.viewer.key, query: { limit: "100" } });
    const kinds = ledger.body.data.map((e: { kind: string; reason: string | null }) => `${e.kind} ${e.reason}`);
    expect(kinds.filter((k: string) => k.startsWith("charge"))).toEqual(Array(4).fill("charge skill kv_store"));
    expect(kinds.filter((k: string) => k.startsWith("release"))).toEqual(["release skill kv_store"]);
    const { body } = await renderMetrics();
    expect(body).toMatch(/aos_credit_refusals_total\{operation="skill_execute"\} [1-9]/);
  });

  it("voyage_embed of 100 inputs costs 11 (1 per call + 0.1 per input), not 1", async () => {
    const t = await tenant(20);
    const res = await withConfig(voyageEnv(), () => execute(t, "voyage_embed", { input: hundredTexts }));
    expect([res.status, res.body.credits_charged]).toEqual([200, 11]);
    expect(await figures(t)).toMatchObject({ balance: 9, reserved: 0 });
    // 9 left: another 100 inputs are refused before Voyage is called.
    const calls = voyage.batchSizes().length;
    const refused = await withConfig(voyageEnv(), () => execute(t, "voyage_embed", { input: hundredTexts }));
    expect([refused.status, refused.body.error.details]).toEqual([402, { required: 11, available: 9 }]);
    expect(voyage.batchSizes()).toHaveLength(calls);
  });

  it("20 concurrent calls on credits that cover 5: exactly 5 run, 15 get 402, nothing goes negative", async () => {
    const t = await tenant(5);
    const key = `c-${tag()}`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => execute(t, "kv_store", { op: "incr", key })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(5);
    expect(replies.filter((r) => r.status === 402 && r.body.error.code === "credits.insufficient")).toHaveLength(15);
    expect((await execute(t, "kv_store", { op: "get", key })).status).toBe(402);
    const { rows } = await query("select 1 from credit_holds where tenant_id = $1", [t.tenant.id]);
    expect(rows).toEqual([]);
    expect(await figures(t)).toMatchObject({ balance: 0, reserved: 0, available: 0 });
  });

  it("a hold whose caller died is released by the hourly sweep", async () => {
    const t = await tenant(10);
    const id = await withContext({ requestId: "r", correlationId: "r", actor: { type: "system", name: "test" } }, () =>
      Credits.hold(t.tenant.id, 4, "skill kv_store", new Date(Date.now() - 1_000), "skill_execute"),
    );
    expect(await figures(t)).toMatchObject({ balance: 10, reserved: 4, available: 6 });
    const out = await holdSweep(scheduledEvent(), lambdaContext());
    expect(out).toMatchObject({ holds_released: 1 });
    expect(await figures(t)).toMatchObject({ balance: 10, reserved: 0, available: 10 });
    const { rows } = await query("select kind from credit_ledger where idempotency_key = $1", [`release:hold:${id}`]);
    expect(rows).toEqual([{ kind: "release" }]);
  });
});

describe("job items are priced by the skill's cost model; simulate agrees with the charge", () => {
  const spawnAndSimulate = async (t: Tenant, body: Record<string, unknown>) => {
    const sim = await invoke("POST", "/api/v1/jobs/simulate", { key: t.keys.agent.key, body });
    expect(sim.status, sim.text).toBe(200);
    const job = await invoke("POST", "/api/v1/jobs", { key: t.keys.agent.key, body });
    expect(job.status, job.text).toBe(201);
    return { estimated: sim.body.estimated_credits as number, job: job.body };
  };
  const jobOf = async (t: Tenant, id: string) =>
    (await invoke("GET", `/api/v1/jobs/${id}`, { key: t.keys.viewer.key })).body;

  it("voyage_embed items: 100 inputs cost 11 and 2 inputs 1.2; reserved, estimated and charged alike", async () => {
    const t = await tenant(100);
    const body = {
      task: "voyage_embed",
      items: [{ input: { input: hundredTexts } }, { input: { input: ["a", "b"] } }],
      credits_per_item: 1,
    };
    const { estimated, job } = await spawnAndSimulate(t, body);
    expect(estimated).toBe(12.2);
    expect(job.credits.reserved).toBe(12.2);
    const messages = await takeMessages("JobItems", 2);
    expect(await withConfig(voyageEnv(), () => workItems(messages))).toEqual([]);
    const done = await jobOf(t, job.id);
    expect(done).toMatchObject({ status: "completed", credits: { reserved: 12.2, charged: 12.2, released: 0 } });
    expect(await figures(t)).toMatchObject({ balance: 87.8, reserved: 0 });
    // The job's items ran as the job's: no direct-execution charge on top.
    const { rows } = await query(
      "select count(*)::int as n from credit_ledger where tenant_id = $1 and job_id is null and kind = 'charge'",
      [t.tenant.id],
    );
    expect(rows).toEqual([{ n: 0 }]);
  });

  it("credits_per_item above the model is a margin: each item costs it", async () => {
    const t = await tenant(100);
    const key = `m-${tag()}`;
    const body = {
      task: "kv_store",
      items: [1, 2, 3].map(() => ({ input: { op: "incr", key } })),
      credits_per_item: 2.5,
    };
    const { estimated, job } = await spawnAndSimulate(t, body);
    expect([estimated, job.credits.reserved]).toEqual([7.5, 7.5]);
    await workItems(await takeMessages("JobItems", 3));
    expect((await jobOf(t, job.id)).credits).toMatchObject({ charged: 7.5 });
    expect((await figures(t)).balance).toBe(92.5);
  });

  it("an external job keeps its declared credits_per_item; 0 is refused", async () => {
    const t = await tenant(100);
    const body = { task: "external", items: [{ input: { n: 1 } }, { input: { n: 2 } }], credits_per_item: 0.5 };
    const { estimated, job } = await spawnAndSimulate(t, body);
    expect([estimated, job.credits.reserved]).toEqual([1, 1]);
    const [claimed] = (
      await invoke("POST", `/api/v1/jobs/${job.id}/claim`, {
        key: t.keys.agent.key,
        body: { worker_id: "w", max_items: 1 },
      })
    ).body.items;
    await invoke("POST", `/api/v1/items/${claimed.id}/complete`, { key: t.keys.agent.key, body: { worker_id: "w" } });
    const cancelled = await invoke("POST", `/api/v1/jobs/${job.id}/cancel`, { key: t.keys.agent.key });
    expect(cancelled.body).toMatchObject({ completed_items: 1, cancelled_items: 1, credits_refunded: 0.5 });
    expect(await figures(t)).toMatchObject({ balance: 99.5, reserved: 0 });

    const free = await invoke("POST", "/api/v1/jobs", {
      key: t.keys.agent.key,
      body: { ...body, credits_per_item: 0 },
    });
    expect(free.status).toBe(400);
    expect(free.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["body.credits_per_item"]);
  });
});
