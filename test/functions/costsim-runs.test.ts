/**
 * Cost simulation where plans run (issue 18 items 2, 3 and 8), through the real handlers:
 * `POST /api/v1/workflows/{name}/simulate` answers CostSim V1 for the plan a run of the same
 * version and input reserves; with the sandbox on, its shadow comparison and the run that follows
 * meet in costsim_provenance (the run's actual cost and wall time next to both estimates, by plan
 * hash); a fork's tail does not count as the plan's outcome. `POST /api/v1/jobs/simulate` carries
 * V1's estimate of the same body; a job spawned with the same body records its outcome when it is
 * settled, a cancelled one does not. Cross-tenant: another tenant's workflow is a 404.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { ShadowMessage } from "../../core/costsim/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { handler as relayHandler } from "../../functions/cron/costsim-shadow-relay.ts";
import { handler as shadowHandler } from "../../functions/queue/costsim-shadow.ts";
import { invoke, lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { workItems } from "../factories/jobs.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { drainSteps, registerWorkflow, startRun, stepMessages } from "../factories/workflows.ts";
import { withConfig } from "../setup/config-override.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

const tag = () => randomBytes(4).toString("hex");
const steps = (key: string) => [
  { id: "put", skill: "kv_store", args: { op: "set", key, value: { $ref: "input.n" } } },
  { id: "get", skill: "kv_store", args: { op: "get", key } },
  { id: "bump", skill: "kv_store", args: { op: "incr", key: `${key}-c`, value: { $ref: "steps.get.result.value" } } },
];

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  [a, b] = await Promise.all([makeTenantWithKeys(), makeTenantWithKeys()]);
  await Promise.all([grantCredits(a.tenant.id, 100), grantCredits(b.tenant.id, 100)]);
  await Promise.all([stepMessages(), takeMessages("CostsimShadow")]);
});

const simulateRun = (t: Tenant, name: string, body: unknown) =>
  invoke("POST", `/api/v1/workflows/${name}/simulate`, { key: t.keys.agent.key, body });
const getRun = async (t: Tenant, id: string) =>
  (await invoke("GET", `/api/v1/workflows/runs/${id}`, { key: t.keys.viewer.key })).body;
const provenance = async (tenantId: string) =>
  (
    await query<Record<string, any>>(
      "select plan_hash, plan_ref, CAST(v1_credits AS float8) as v1_credits, CAST(actual_credits AS float8) as actual_credits, actual_duration_ms, actual_run_id from costsim_provenance where tenant_id = $1",
      [tenantId],
    )
  ).rows;

/** The relay cron, then the CostsimShadow worker over what it sent. */
async function shadowRound(): Promise<number> {
  await relayHandler(scheduledEvent(), lambdaContext());
  const msgs = await takeMessages<ShadowMessage>("CostsimShadow");
  if (msgs.length) expect((await shadowHandler(sqsEvent(msgs), lambdaContext())).batchItemFailures).toEqual([]);
  return msgs.length;
}

describe("POST /api/v1/workflows/{name}/simulate", () => {
  it("answers V1 for the plan a run reserves; 400 naming the fields at fault; another tenant's workflow is a 404", async () => {
    const name = `wf-${tag()}`;
    await registerWorkflow(a.keys.agent.key, name, steps(`k-${tag()}`));
    const sim = await simulateRun(a, name, { input: { n: 2 }, budget: 50 });
    expect(sim.status, sim.text).toBe(200);
    expect(sim.body).toMatchObject({ version: "v1", kind: "workflow", credits: 3, feasibility: { basis: "budget" } });
    expect(sim.body.steps.map((s: { id: string }) => s.id)).toEqual(["put", "get", "bump"]);
    const run = await startRun(a.keys.agent.key, name, { input: { n: 2 } });
    expect(run.estimate).toMatchObject({ credits: sim.body.credits, duration_ms: sim.body.duration_ms });
    expect(run.credits.reserved).toBe(sim.body.credits);
    await drainSteps();

    const bad = await simulateRun(a, name, { input: "x", budget: -1, extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "body.budget",
      "body.extra",
      "body.input",
    ]);
    expect((await simulateRun(a, name, { version: 9 })).status).toBe(404);
    // Tenant B sees none of A's workflows.
    const other = await simulateRun(b, name, { input: { n: 2 } });
    expect([other.status, other.body.error?.code]).toEqual([404, "workflows.not_found"]);
    expect((await invoke("POST", `/api/v1/workflows/${name}/simulate`, { body: {} })).status).toBe(401);
  });

  it("with the sandbox on, the simulation's comparison gets the actual cost and wall time of the run that follows; a fork's tail does not", async () => {
    const name = `wf-${tag()}`;
    await registerWorkflow(a.keys.agent.key, name, steps(`k-${tag()}`));
    const sim = await withConfig({ COSTSIM_V2_SANDBOX: "true" }, () => simulateRun(a, name, { input: { n: 7 } }));
    expect(sim.status, sim.text).toBe(200);
    expect(await shadowRound()).toBe(1);
    const before = await provenance(a.tenant.id);
    const mine = before.filter((r) => r.plan_ref === `workflow:${name}@1`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ v1_credits: sim.body.credits, actual_credits: null, actual_run_id: null });

    const run = await startRun(a.keys.agent.key, name, { input: { n: 7 } });
    expect(run.estimate.plan_hash).toBe(mine[0]?.plan_hash);
    await drainSteps();
    const done = await getRun(a, run.id);
    expect(done.status).toBe("completed");
    const after = (await provenance(a.tenant.id)).find((r) => r.plan_ref === `workflow:${name}@1`);
    expect(after).toMatchObject({ actual_credits: done.actual.credits, actual_run_id: run.id });
    // The same wall time (the run's is rounded from µs in SQL, the recorded one from ms in JS).
    expect(Math.abs((after?.actual_duration_ms ?? 0) - done.actual.duration_ms)).toBeLessThanOrEqual(1);

    // A fork from op 1 ran only the tail of the plan: it is not recorded as the plan's outcome.
    const fork = await invoke("POST", `/api/v1/workflows/runs/${run.id}/fork`, {
      key: a.keys.agent.key,
      body: { from_op_index: 1 },
    });
    expect(fork.status, fork.text).toBe(202);
    expect(fork.body.estimate).toMatchObject({ from_op_index: 1, credits: 2 });
    await drainSteps();
    expect((await getRun(a, fork.body.id)).status).toBe("completed");
    expect((await provenance(a.tenant.id)).find((r) => r.plan_ref === `workflow:${name}@1`)?.actual_run_id).toBe(
      run.id,
    );
    // Tenant B's provenance holds none of it.
    expect(await provenance(b.tenant.id)).toEqual([]);
  });
});

describe("POST /api/v1/jobs/simulate", () => {
  it("carries CostSim V1's estimate of the same body; none for a task spawn would refuse", async () => {
    const body = { task: "kv_store", items: [{ input: { op: "get", key: "a" } }, { input: { op: "get", key: "b" } }] };
    const res = await invoke("POST", "/api/v1/jobs/simulate", { key: a.keys.agent.key, body });
    expect(res.status, res.text).toBe(200);
    expect(res.body.costsim).toMatchObject({ version: "v1", kind: "job", credits: res.body.estimated_credits });
    expect(res.body.costsim.feasibility).toMatchObject({ basis: "available_credits", feasible: true });
    const unknown = await invoke("POST", "/api/v1/jobs/simulate", {
      key: a.keys.agent.key,
      body: { task: "teleport", items: [{ input: {} }] },
    });
    expect(unknown.status, unknown.text).toBe(200);
    expect(unknown.body.costsim).toBeNull();
  });
});

describe("a simulated job spawn that then runs", () => {
  const jobProvenance = async (tenantId: string) =>
    (
      await query<Record<string, any>>(
        "select plan_hash, CAST(v1_credits AS float8) as v1_credits, CAST(actual_credits AS float8) as actual_credits, actual_duration_ms, actual_run_id, actual_started_at from costsim_provenance where tenant_id = $1 and plan_ref = 'job:kv_store'",
        [tenantId],
      )
    ).rows;
  const spawnJob = (t: Tenant, body: unknown) => invoke("POST", "/api/v1/jobs", { key: t.keys.agent.key, body });

  it("with the sandbox on, the comparison gets the settled job's credits charged and wall time; a cancelled job's are not recorded", async () => {
    const t = await makeTenantWithKeys();
    await grantCredits(t.tenant.id, 100);
    const key = `j-${tag()}`;
    const body = {
      task: "kv_store",
      credits_per_item: 1,
      items: [{ input: { op: "incr", key } }, { input: { op: "incr", key } }, { input: { op: "get", key } }],
    };
    await withConfig({ COSTSIM_V2_SANDBOX: "true" }, async () => {
      const sim = await invoke("POST", "/api/v1/jobs/simulate", { key: t.keys.agent.key, body });
      expect(sim.status, sim.text).toBe(200);
      expect(await shadowRound()).toBe(1);
      const [row] = await jobProvenance(t.tenant.id);
      expect(row).toMatchObject({ v1_credits: sim.body.costsim.credits, actual_run_id: null });

      const job = await spawnJob(t, body);
      expect(job.status, job.text).toBe(201);
      const msgs = (await takeMessages<{ jobId: string }>("JobItems", 3)).filter((m) => m.jobId === job.body.id);
      expect(msgs).toHaveLength(3);
      expect(await workItems(msgs)).toEqual([]);
      const done = await invoke("GET", `/api/v1/jobs/${job.body.id}`, { key: t.keys.viewer.key });
      expect(done.body.status).toBe("completed");
      const [after] = await jobProvenance(t.tenant.id);
      expect(after).toMatchObject({ actual_run_id: job.body.id, actual_credits: 3 });
      expect(after?.actual_started_at).toEqual(new Date(job.body.created_at));
      expect(after?.actual_duration_ms).toBeGreaterThanOrEqual(0);

      // The same body spawned again and cancelled before it ran: not the plan's outcome.
      const again = await spawnJob(t, body);
      expect(again.status, again.text).toBe(201);
      const cancel = await invoke("POST", `/api/v1/jobs/${again.body.id}/cancel`, { key: t.keys.agent.key });
      expect(cancel.status, cancel.text).toBe(200);
      await takeMessages("JobItems");
      expect((await jobProvenance(t.tenant.id))[0]?.actual_run_id).toBe(job.body.id);
    });
    // Another tenant's provenance holds none of it.
    expect(await jobProvenance(b.tenant.id)).toEqual([]);
  });
});
