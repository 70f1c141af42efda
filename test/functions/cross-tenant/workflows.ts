/** Cross-tenant cases of the workflow routes (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { query } from "../../../core/platform/db/index.ts";
import { invoke } from "../../events/index.ts";
import { grantCredits } from "../../factories/credits.ts";
import { drainSteps, registerWorkflow, startRun } from "../../factories/workflows.ts";
import type { Cases, Fixture } from "./fixture.ts";

const SECRET = "secret-of-b-workflow";
const steps = [
  { id: "put", skill: "kv_store", args: { op: "set", key: "k", value: SECRET } },
  { id: "get", skill: "kv_store", args: { op: "get", key: "k" } },
];

interface OfB {
  name: string;
  runId: string;
  replayId: string;
}
let made: Promise<OfB> | undefined;

/** B's workflow, a finished run of it and a replay of that run (made once). */
function ofB({ b, bKey }: Fixture): Promise<OfB> {
  made ??= (async () => {
    await grantCredits(b.tenant.id, 20);
    const name = "b-flow";
    await registerWorkflow(bKey.key, name, steps);
    const run = await startRun(bKey.key, name);
    await drainSteps();
    const replay = await invoke("POST", `/api/v1/workflows/runs/${run.id}/replay`, { key: bKey.key, body: {} });
    expect(replay.status, replay.text).toBe(202);
    return { name, runId: run.id, replayId: replay.body.replay_id };
  })();
  return made;
}

/** A's keys get 404 (nothing of B's in the reply), a named B tenant 403; B's own viewer 200. */
async function hiddenFromA(t: Fixture, path: string, named = true): Promise<void> {
  for (const key of [t.a.keys.viewer.key, t.a.keys.agent.key, t.a.keys.operator.key]) {
    const res = await invoke("GET", path, { key });
    expect(res.status, path).toBe(404);
    expect(res.text).not.toContain(SECRET);
    expect(res.text).not.toContain(t.b.tenant.id);
  }
  if (named) {
    const res = await invoke("GET", path, { key: t.a.keys.viewer.key, query: { tenant: t.b.tenant.id } });
    expect(res.status).toBe(403);
  }
  expect((await invoke("GET", path, { key: t.b.keys.viewer.key })).status).toBe(200);
}

/** A's own steps (nothing of B's in them). */
const stepsOfA = [{ id: "get", skill: "kv_store", args: { op: "get", key: "a" } }];

const runStatus = async (id: string) =>
  (await query<{ status: string }>("select status from workflow_runs where id = $1", [id])).rows[0]?.status;

export const workflowCases: Cases = {
  "POST /api/v1/workflows": async (t) => {
    const { name } = await ofB(t);
    // A registering the same name makes A's own version 1; B's definition is untouched.
    const res = await invoke("POST", "/api/v1/workflows", { key: t.a.keys.agent.key, body: { name, steps: stepsOfA } });
    expect(res.status).toBe(201);
    expect(res.body.version).toBe(1);
    const forged = await invoke("POST", "/api/v1/workflows", {
      key: t.a.keys.agent.key,
      body: { name, steps: stepsOfA, tenant: t.b.tenant.id },
    });
    expect(forged.status).toBe(400);
    const { rows } = await query("select 1 from workflow_definitions where tenant_id = $1 and name = $2", [
      t.b.tenant.id,
      name,
    ]);
    expect(rows).toHaveLength(1);
  },
  "GET /api/v1/workflows": async (t) => {
    await ofB(t);
    const res = await invoke("GET", "/api/v1/workflows", { key: t.a.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(SECRET);
    const named = await invoke("GET", "/api/v1/workflows", {
      key: t.a.keys.viewer.key,
      query: { tenant: t.b.tenant.id },
    });
    expect(named.status).toBe(403);
  },
  "GET /api/v1/workflows/{name}": async (t) => {
    const { name } = await ofB(t);
    // A may have its own workflow of that name (POST case): B's steps never show.
    const res = await invoke("GET", `/api/v1/workflows/${name}-x`, { key: t.a.keys.viewer.key });
    expect(res.status).toBe(404);
    const named = await invoke("GET", `/api/v1/workflows/${name}`, {
      key: t.a.keys.viewer.key,
      query: { tenant: t.b.tenant.id },
    });
    expect(named.status).toBe(403);
    expect((await invoke("GET", `/api/v1/workflows/${name}`, { key: t.b.keys.viewer.key })).text).toContain(SECRET);
  },
  "GET /api/v1/workflows/runs": async (t) => {
    const { runId } = await ofB(t);
    const res = await invoke("GET", "/api/v1/workflows/runs", { key: t.a.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(runId);
    const named = await invoke("GET", "/api/v1/workflows/runs", {
      key: t.a.keys.viewer.key,
      query: { tenant: t.b.tenant.id },
    });
    expect(named.status).toBe(403);
  },
  "GET /api/v1/workflows/runs/{id}": async (t) => {
    const { runId } = await ofB(t);
    await hiddenFromA(t, `/api/v1/workflows/runs/${runId}`);
  },
  "POST /api/v1/workflows/runs/{id}/cancel": async (t) => {
    const { runId } = await ofB(t);
    const res = await invoke("POST", `/api/v1/workflows/runs/${runId}/cancel`, { key: t.a.keys.agent.key, body: {} });
    expect(res.status).toBe(404);
    expect(await runStatus(runId)).toBe("completed");
  },
  "POST /api/v1/workflows/runs/{id}/replay": async (t) => {
    const { runId } = await ofB(t);
    const before = await query("select 1 from replay_runs where workflow_run_id = $1", [runId]);
    const res = await invoke("POST", `/api/v1/workflows/runs/${runId}/replay`, { key: t.a.keys.agent.key, body: {} });
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(SECRET);
    const after = await query("select 1 from replay_runs where workflow_run_id = $1", [runId]);
    expect(after.rows.length).toBe(before.rows.length);
  },
  "GET /api/v1/workflows/runs/{id}/replays/{replay_id}": async (t) => {
    const { runId, replayId } = await ofB(t);
    await hiddenFromA(t, `/api/v1/workflows/runs/${runId}/replays/${replayId}`, false);
  },
  "POST /api/v1/workflows/runs/{id}/fork": async (t) => {
    const { runId } = await ofB(t);
    const res = await invoke("POST", `/api/v1/workflows/runs/${runId}/fork`, {
      key: t.a.keys.agent.key,
      body: { from_op_index: 1 },
    });
    expect(res.status).toBe(404);
    const { rows } = await query("select 1 from workflow_runs where forked_from = $1", [runId]);
    expect(rows).toHaveLength(0);
  },
  "POST /api/v1/workflows/{name}/simulate": async (t) => {
    const { name } = await ofB(t);
    // A's key simulates A's workflow of that name, or nothing: never B's definition.
    const res = await invoke("POST", `/api/v1/workflows/${name}-x/simulate`, { key: t.a.keys.agent.key, body: {} });
    expect([res.status, res.body.error?.code]).toEqual([404, "workflows.not_found"]);
    const own = await invoke("POST", `/api/v1/workflows/${name}/simulate`, { key: t.a.keys.agent.key, body: {} });
    if (own.status === 200) expect(own.body.steps.map((s: { id: string }) => s.id)).toEqual(stepsOfA.map((s) => s.id));
    else expect(own.status).toBe(404);
    expect(own.text).not.toContain(SECRET);
    const forged = await invoke("POST", `/api/v1/workflows/${name}/simulate`, {
      key: t.a.keys.agent.key,
      body: { tenant: t.b.tenant.id },
    });
    expect(forged.status).toBe(400);
  },
  "POST /api/v1/workflows/{name}/runs": async (t) => {
    const { name } = await ofB(t);
    // A's key runs A's workflow of that name, or nothing: never B's definition nor B's credits.
    const res = await invoke("POST", `/api/v1/workflows/${name}-x/runs`, { key: t.a.keys.agent.key, body: {} });
    expect(res.status).toBe(404);
    const forged = await invoke("POST", `/api/v1/workflows/${name}/runs`, {
      key: t.a.keys.agent.key,
      body: { tenant: t.b.tenant.id },
    });
    expect(forged.status).toBe(400);
  },
};
