/**
 * The cost simulation routes through their real handlers, on real Postgres and the SQS stand-in:
 * V1 simulate (inline steps, a workflow by name, a job spawn body; 400 naming the fields at
 * fault, 404 for a workflow the tenant lacks), the shadow path end to end (sandbox on: the
 * CostsimShadow message, its consumer, a provenance row; sandbox off: no message), V2 alone
 * (operator), status, the divergence report (admin-only tenant_id) and the dataset routes.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { ShadowMessage } from "../../core/costsim/index.ts";
import * as Costsim from "../../core/costsim/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { redis } from "../../core/platform/redis.ts";
import { handler as relayHandler } from "../../functions/cron/costsim-shadow-relay.ts";
import { handler as shadowHandler } from "../../functions/queue/costsim-shadow.ts";
import { invoke, lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { registerWorkflow } from "../factories/workflows.ts";
import { withConfig } from "../setup/config-override.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

const fieldsOf = (res: { body: any }): string[] => res.body.error.details.fields.map((f: { field: string }) => f.field);
const tag = () => randomBytes(4).toString("hex");
const steps = [
  { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: 1 } },
  { id: "get", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
];
const job = { task: "kv_store", items: [{ input: { op: "get", key: "a" } }, { input: { op: "get", key: "b" } }] };

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 100);
  await takeMessages("CostsimShadow");
});

const simulate = (body: unknown, key = t.keys.agent.key) => invoke("POST", "/api/v1/costsim/simulate", { key, body });
const provenance = async (tenantId: string) =>
  (await query<Record<string, any>>("select * from costsim_provenance where tenant_id = $1", [tenantId])).rows;

describe("POST /api/v1/costsim/simulate", () => {
  it("answers V1 for inline steps, a job spawn body and a workflow by name, against the available credits", async () => {
    const inline = await simulate({ plan: { workflow: { steps } }, input: { key: "k" } });
    expect(inline.status, inline.text).toBe(200);
    expect(inline.body).toMatchObject({ version: "v1", kind: "workflow", feasibility: { basis: "available_credits" } });
    expect(inline.body.steps).toHaveLength(2);

    const spawn = await simulate({ plan: { job }, budget: 0.0001 });
    expect(spawn.status, spawn.text).toBe(200);
    expect(spawn.body).toMatchObject({ kind: "job", feasibility: { basis: "budget", feasible: false } });

    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, steps);
    const byName = await simulate({ plan: { workflow: { name } }, input: { key: "k" } });
    expect(byName.status, byName.text).toBe(200);
    expect(byName.body.credits).toBe(inline.body.credits);
    expect((await simulate({ plan: { workflow: { name, version: 2 } } })).status).toBe(404);
    expect((await simulate({ plan: { workflow: { name: `nope-${tag()}` } } })).status).toBe(404);
  });

  it("400 naming the fields at fault, never a 500", async () => {
    const missing = await simulate({});
    expect(missing.status).toBe(400);
    expect(fieldsOf(missing)).toContain("body.plan");
    const budget = await simulate({ plan: { job }, budget: -1 });
    expect(budget.status).toBe(400);
    expect(fieldsOf(budget)).toContain("body.budget");
    const unknownSkill = await simulate({ plan: { workflow: { steps: [{ id: "x", skill: "no_such", args: {} }] } } });
    expect(unknownSkill.status).toBe(400);
    expect(unknownSkill.body.error.code).toBe("costsim.invalid_plan");
    // Named where the body holds them, as every other 400 names its fields.
    expect(fieldsOf(unknownSkill)).toEqual(["body.plan.workflow.steps.0.skill"]);
    const badTask = await simulate({ plan: { job: { task: "nothing_here", items: [{ input: {} }] } } });
    expect(badTask.status).toBe(400);
    expect(fieldsOf(badTask)).toEqual(["body.plan.job.task"]);
    const badItem = await simulate({ plan: { job: { task: "kv_store", items: [{ input: { op: "fly" } }] } } });
    expect([badItem.status, badItem.body.error.code]).toEqual([400, "costsim.invalid_plan"]);
    expect(fieldsOf(badItem).every((f: string) => f.startsWith("body.plan.job.items.0.input"))).toBe(true);
    for (const body of [null, "text", { plan: [] }, { plan: { workflow: {} } }, { plan: { job }, extra: 1 }]) {
      const res = await simulate(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("a viewer key may not simulate (agent and above)", async () => {
    expect((await simulate({ plan: { job } }, t.keys.viewer.key)).status).toBe(403);
    expect((await invoke("POST", "/api/v1/costsim/simulate", { body: { plan: { job } } })).status).toBe(401);
  });

  it("with the sandbox on, V2 runs in the shadow: a request in the stream beside the reply, the relay's message, its consumer writes the provenance row", async () => {
    const w = await makeTenantWithKeys();
    await grantCredits(w.tenant.id, 50);
    const res = await withConfig({ COSTSIM_V2_SANDBOX: "true" }, () =>
      simulate({ plan: { job }, budget: 10 }, w.keys.agent.key),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.version).toBe("v1");
    // The request path sent nothing to SQS: it appended the request to the stream (settled by the kit).
    expect(await takeMessages("CostsimShadow")).toEqual([]);
    const stream = await redis().xrange(Costsim.SHADOW_STREAM, 1000);
    const request = stream
      .map((e) => JSON.parse(e.fields.m as string) as ShadowMessage)
      .find((m) => m.tenantId === w.tenant.id);
    expect(request).toMatchObject({ v: 1, tenantId: w.tenant.id, planRef: "job:kv_store", skills: ["kv_store"] });
    // Written beside the credits read: the budget, no options (the consumer reads the credits).
    expect(request?.budget).toBe(10);
    expect(request?.options).toBeUndefined();

    // The relay cron sends it (and whatever else waits) to CostsimShadow and empties the stream.
    const relay = await relayHandler(scheduledEvent(), lambdaContext());
    expect(relay).toMatchObject({ relayed: stream.length, failed: 0, waiting: 0 });
    expect(await redis().xlen(Costsim.SHADOW_STREAM)).toBe(0);
    const msgs = (await takeMessages<ShadowMessage>("CostsimShadow", stream.length)).filter(
      (m) => m.tenantId === w.tenant.id,
    );
    expect(msgs).toEqual([request]);
    const r = await shadowHandler(sqsEvent(msgs), lambdaContext());
    expect(r.batchItemFailures).toEqual([]);
    const rows = await provenance(w.tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: "shadow", plan_ref: "job:kv_store", v1_credits: String(res.body.credits) });
    // The very reply the caller got: the credits have not changed since.
    expect(rows[0]?.outputs.v1).toEqual(res.body);
    expect(rows[0]?.plan_hash).toMatch(/^[0-9a-f]{64}$/);
    // The same message again (SQS delivers at least once): nothing more is recorded.
    expect((await shadowHandler(sqsEvent(msgs), lambdaContext())).batchItemFailures).toEqual([]);
    expect((await provenance(w.tenant.id))[0]?.simulations).toBe(1);
    // Nothing left to relay.
    expect(await relayHandler(scheduledEvent(), lambdaContext())).toMatchObject({ relayed: 0, waiting: 0 });
    expect(await takeMessages("CostsimShadow")).toEqual([]);

    // Sandbox off (the default): nothing is stored nor queued.
    expect((await simulate({ plan: { job } }, w.keys.agent.key)).status).toBe(200);
    expect(await redis().xlen(Costsim.SHADOW_STREAM)).toBe(0);
  });
});

describe("POST /api/v1/costsim/v2/simulate", () => {
  it("answers V2 (confidence, fallbacks) for an operator, 403 below", async () => {
    const body = { plan: { workflow: { steps } }, input: { key: "k" } };
    const res = await invoke("POST", "/api/v1/costsim/v2/simulate", { key: t.keys.operator.key, body });
    expect(res.status, res.text).toBe(200);
    expect(res.body.version).toBe("v2");
    expect(res.body.confidence).toBeGreaterThanOrEqual(0);
    expect(res.body.steps[0].fallback).toContain("duration");
    const agent = await invoke("POST", "/api/v1/costsim/v2/simulate", { key: t.keys.agent.key, body });
    expect(agent.status).toBe(403);
    const bad = await invoke("POST", "/api/v1/costsim/v2/simulate", { key: t.keys.operator.key, body: { plan: 1 } });
    expect(bad.status).toBe(400);
  });
});

describe("GET /api/v1/costsim/v2/status", () => {
  it("says the sandbox, versions, counts by verdict, the drift breaker CLOSED, and that V2 may not be promoted unmeasured", async () => {
    const res = await invoke("GET", "/api/v1/costsim/v2/status", { key: t.keys.viewer.key });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      sandbox: false,
      breaker: { state: "CLOSED", v2_enabled: true, open_incident: null },
      versions: { v1: "v1.0", v2: "v2.0" },
      thresholds: { drift: 0.2, warning: 0.15, schema_errors: 5 },
      promotion: { allowed: false },
    });
    expect(res.body.promotion.reason).toMatch(/must not be promoted/);
    const on = await withConfig({ COSTSIM_V2_SANDBOX: "true" }, () =>
      invoke("GET", "/api/v1/costsim/v2/status", { key: t.keys.viewer.key }),
    );
    expect(on.body.sandbox).toBe(true);
  });
});

describe("GET /api/v1/costsim/divergence", () => {
  it("reports the caller's tenant; tenant_id is an admin's only; 400 on a bad window", async () => {
    const own = await invoke("GET", "/api/v1/costsim/divergence", { key: t.keys.viewer.key });
    expect(own.status, own.text).toBe(200);
    expect(own.body).toMatchObject({ tenant_id: t.tenant.id, insufficient_data: true, sample_count: 0 });

    const other = await makeTenantWithKeys();
    const refused = await invoke("GET", "/api/v1/costsim/divergence", {
      key: t.keys.operator.key,
      query: { tenant_id: other.tenant.id },
    });
    expect(refused.status).toBe(403);
    const admin = await invoke("GET", "/api/v1/costsim/divergence", {
      key: t.keys.admin.key,
      query: { tenant_id: other.tenant.slug },
    });
    expect(admin.status, admin.text).toBe(200);
    expect(admin.body.tenant_id).toBe(other.tenant.id);

    const window = await invoke("GET", "/api/v1/costsim/divergence", {
      key: t.keys.viewer.key,
      query: { since: "2026-12-02T00:00:00Z", until: "2026-12-01T00:00:00Z" },
    });
    expect(window.status).toBe(400);
    expect(fieldsOf(window)).toEqual(["query.since"]);
    for (const query of [
      { since: "yesterday" },
      { skill: "Not A Skill" },
      { min_samples: "0" },
      { nope: "1" },
    ] as Record<string, string>[]) {
      const res = await invoke("GET", "/api/v1/costsim/divergence", { key: t.keys.viewer.key, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
    }
  });
});

describe("the dataset routes", () => {
  it("lists the seed's five, reads one, validates one and all", async () => {
    const list = await invoke("GET", "/api/v1/costsim/datasets", { key: t.keys.viewer.key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((d: { id: string; sample_count: number }) => [d.id, d.sample_count])).toEqual([
      ["low_variance", 30],
      ["high_variance", 16],
      ["mixed_city", 25],
      ["noise_injected", 8],
      ["historical", 5],
    ]);
    const one = await invoke("GET", "/api/v1/costsim/datasets/mixed_city", { key: t.keys.viewer.key });
    expect(one.status).toBe(200);
    expect(one.body.samples).toHaveLength(25);
    expect((await invoke("GET", "/api/v1/costsim/datasets/nope", { key: t.keys.viewer.key })).status).toBe(400);

    const v = await invoke("POST", "/api/v1/costsim/datasets/low_variance/validate", {
      key: t.keys.agent.key,
      body: { estimator: "v1" },
    });
    expect(v.status, v.text).toBe(200);
    expect(v.body).toMatchObject({ id: "low_variance", v2: null });
    expect(v.body.v1.sample_count).toBe(30);
    const noBody = await invoke("POST", "/api/v1/costsim/datasets/historical/validate", { key: t.keys.agent.key });
    expect(noBody.status).toBe(200);
    expect(noBody.body.v1).not.toBeNull();
    expect(noBody.body.v2).not.toBeNull();
    const bad = await invoke("POST", "/api/v1/costsim/datasets/historical/validate", {
      key: t.keys.agent.key,
      body: { estimator: "v3" },
    });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad)).toEqual(["body.estimator"]);

    const all = await invoke("POST", "/api/v1/costsim/datasets/validate-all", { key: t.keys.agent.key, body: {} });
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(5);
    expect(typeof all.body.passed).toBe("boolean");
    expect(
      (await invoke("POST", "/api/v1/costsim/datasets/validate-all", { key: t.keys.viewer.key, body: {} })).status,
    ).toBe(403);
  });
});
