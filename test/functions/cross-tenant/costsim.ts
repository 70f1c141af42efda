/** Cross-tenant cases of the cost simulation routes (see ../cross-tenant.test.ts). */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { withContext } from "../../../core/context.ts";
import * as Costsim from "../../../core/costsim/index.ts";
import { query } from "../../../core/platform/db/index.ts";
import { invoke } from "../../events/index.ts";
import { registerWorkflow } from "../../factories/workflows.ts";
import type { Cases, Fixture } from "./fixture.ts";

const tag = () => randomBytes(4).toString("hex");
const steps = [{ id: "get", skill: "kv_store", args: { op: "get", key: "k" } }];

/** A comparison recorded for B (as B's shadow consumer would): a row A must never see. */
async function bComparison({ b }: Fixture): Promise<string> {
  const hash = `b-${tag()}`;
  await withContext(
    { requestId: "t", correlationId: "t", actor: { type: "system", name: "costsim-shadow", tenantId: b.tenant.id } },
    () =>
      Costsim.recordComparison({
        source: "shadow",
        skills: ["kv_store"],
        comparison: {
          input_hash: hash,
          history_hash: "h",
          v1_output_hash: "a",
          v2_output_hash: "b",
          verdict: "major_drift",
          drift_score: 0.9,
          v1_credits: 1,
          v2_credits: 9,
          cost_delta: 8,
          v1_duration_ms: 10,
          v2_duration_ms: 90,
          v2_error: null,
        },
      }),
  );
  return hash;
}

const bRows = async ({ b }: Fixture) =>
  (await query("select * from costsim_provenance where tenant_id = $1 order by id", [b.tenant.id])).rows;

/** B's workflow, by name, is a 404 to A; A's simulations never write B's rows. */
async function simulateNeverReachesB(t: Fixture, path: string, key: string) {
  const name = `b-wf-${tag()}`;
  await registerWorkflow(t.b.keys.agent.key, name, steps);
  await bComparison(t);
  const before = await bRows(t);
  const res = await invoke("POST", path, { key, body: { plan: { workflow: { name } } } });
  expect(res.status).toBe(404);
  expect(res.text).not.toContain(t.b.tenant.id);
  const inline = await invoke("POST", path, { key, body: { plan: { workflow: { steps } } } });
  expect(inline.status, inline.text).toBe(200);
  expect(await bRows(t)).toEqual(before);
}

/** The datasets are the repository's, the same for A and B, and carry no tenant's data. */
async function sameForEveryone(t: Fixture, method: string, path: string, body?: unknown) {
  await bComparison(t);
  const a = await invoke(method, path, { key: t.a.keys.agent.key, ...(body ? { body } : {}) });
  const b = await invoke(method, path, { key: t.b.keys.agent.key, ...(body ? { body } : {}) });
  expect(a.status).toBe(200);
  expect(a.body).toEqual(b.body);
  expect(a.text).not.toContain(t.b.tenant.id);
}

export const costsimCases: Cases = {
  "POST /api/v1/costsim/simulate": (t) => simulateNeverReachesB(t, "/api/v1/costsim/simulate", t.a.keys.agent.key),
  "POST /api/v1/costsim/v2/simulate": (t) =>
    simulateNeverReachesB(t, "/api/v1/costsim/v2/simulate", t.a.keys.operator.key),
  "GET /api/v1/costsim/v2/status": async (t) => {
    const fresh = await invoke("GET", "/api/v1/costsim/v2/status", { key: t.a.keys.viewer.key });
    await bComparison(t);
    const after = await invoke("GET", "/api/v1/costsim/v2/status", { key: t.a.keys.admin.key });
    expect(after.status).toBe(200);
    expect(after.body.counts).toEqual(fresh.body.counts);
    expect(after.body.total).toBe(fresh.body.total);
  },
  "GET /api/v1/costsim/divergence": async (t) => {
    await bComparison(t);
    const own = await invoke("GET", "/api/v1/costsim/divergence", { key: t.a.keys.viewer.key });
    expect(own.status).toBe(200);
    expect(own.body.tenant_id).toBe(t.a.tenant.id);
    expect(own.body.verdicts.major_drift).toBe(0);
    // Naming B: refused to every key of A below admin, by slug and by id.
    for (const key of [t.a.keys.viewer.key, t.a.keys.agent.key, t.a.keys.operator.key])
      for (const tenant of [t.b.tenant.slug, t.b.tenant.id]) {
        const res = await invoke("GET", "/api/v1/costsim/divergence", { key, query: { tenant_id: tenant } });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toMatch(/^auth\./);
      }
    // A's own id is its own report.
    const self = await invoke("GET", "/api/v1/costsim/divergence", {
      key: t.a.keys.viewer.key,
      query: { tenant_id: t.a.tenant.id },
    });
    expect(self.body.tenant_id).toBe(t.a.tenant.id);
  },
  "GET /api/v1/costsim/datasets": (t) => sameForEveryone(t, "GET", "/api/v1/costsim/datasets"),
  "GET /api/v1/costsim/datasets/{id}": (t) => sameForEveryone(t, "GET", "/api/v1/costsim/datasets/historical"),
  "POST /api/v1/costsim/datasets/{id}/validate": (t) =>
    sameForEveryone(t, "POST", "/api/v1/costsim/datasets/historical/validate", { estimator: "both" }),
  "POST /api/v1/costsim/datasets/validate-all": (t) =>
    sameForEveryone(t, "POST", "/api/v1/costsim/datasets/validate-all", { estimator: "v1" }),
};
