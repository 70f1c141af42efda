/** Cross-tenant cases of the cost simulation routes (see ../cross-tenant.test.ts). */
import { randomBytes, randomUUID } from "node:crypto";
import { expect } from "vitest";
import { withContext } from "../../../core/context.ts";
import * as Costsim from "../../../core/costsim/index.ts";
import { ManualClock, setClock, systemClock } from "../../../core/platform/clock.ts";
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

/**
 * The drift breaker and the canary are the platform's: one breaker for every tenant, incidents and
 * canary reports whose figures aggregate every tenant's comparisons and name none. So A and B see
 * the same incidents and reports, and the checks below are that B's comparisons, which feed those
 * figures, never surface as B (its id or slug) in what A reads, and that only an admin key acts.
 */
const STATUS = "/api/v1/costsim/v2/status";
const RESET = "/api/v1/costsim/v2/reset";
const INCIDENTS = "/api/v1/costsim/v2/incidents";
const RUN = "/api/v1/costsim/canary/run";
const REPORTS = "/api/v1/costsim/canary/reports";

const asSystem = <T>(fn: () => Promise<T>, tenantId?: string) =>
  withContext(
    {
      requestId: randomUUID(),
      correlationId: randomUUID(),
      actor: { type: "system", name: "cross-tenant-test", ...(tenantId ? { tenantId } : {}) },
    },
    fn,
  );

/** Nothing of B in a reply of A's: neither its id, nor its slug, nor any of its keys' ids (an admin of B may have acted). */
function namesNoB({ b }: Fixture, text: string): void {
  expect(text).not.toContain(b.tenant.id);
  expect(text).not.toContain(b.tenant.slug);
  for (const k of Object.values(b.keys)) expect(text).not.toContain(k.id);
}

const nonAdminsOf = ({ a }: Fixture) => [a.keys.viewer.key, a.keys.agent.key, a.keys.operator.key];

/** `n` comparisons of B's shadow in the last hour (compared_at set): the drift evaluation's window counts them. */
async function bCompared({ b }: Fixture, n: number, at = Date.now(), error = false): Promise<void> {
  for (let i = 0; i < n; i++)
    await asSystem(
      () =>
        Costsim.recordComparison({
          source: "shadow",
          skills: ["kv_store"],
          at: new Date(at - i * 1000 - 500),
          compared_at: new Date(at - i * 1000),
          comparison: {
            input_hash: `b-cmp-${tag()}`,
            history_hash: "h",
            v1_output_hash: "a",
            v2_output_hash: error ? null : "b",
            verdict: error ? "v2_error" : "minor_drift",
            drift_score: error ? null : 0.16,
            v1_credits: 3,
            v2_credits: error ? null : 3.5,
            cost_delta: error ? null : 0.5,
            v1_duration_ms: 400,
            v2_duration_ms: error ? null : 450,
            v2_error: error ? { code: "costsim.v2_failed", message: `B's V2 failed ${b.tenant.slug}` } : null,
          },
        }),
      b.tenant.id,
    );
}

/**
 * `n` shadow comparisons of B's plans (each names B in its workflow's name) through the CostsimShadow consumer's
 * work, their inputs kept: what the canary runs again.
 */
async function bInputs({ b }: Fixture, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await Costsim.runShadow(
      {
        v: 1,
        tenantId: b.tenant.id,
        plan: Costsim.planOf({
          workflow: {
            name: `b-${b.tenant.slug}-${tag()}`,
            steps: [{ id: "get", skill: "kv_store", args: { op: "get", key: "k" } }],
          },
        }),
        options: { availableCredits: 100 },
        planRef: `workflow:b-${b.tenant.slug}@1`,
        skills: ["kv_store"],
        at: new Date(Date.now() - i * 1000).toISOString(),
      },
      async () => ({}),
    );
}

/** The breaker closed (as the platform, not a tenant's key). */
const closeBreaker = () => asSystem(() => Costsim.reset({ reason: "cross-tenant test: closed before the case" }));

let evaluations = 0;
/**
 * The breaker tripped by a real evaluation over B's comparisons: more than
 * COSTSIM_SCHEMA_ERROR_THRESHOLD (5) V2 errors of B's in the window. Each call takes an evaluation
 * interval nobody has taken (a clock of its own, further ahead each time: an interval is evaluated
 * once). Returns the incident.
 */
async function tripOnBsErrors(t: Fixture): Promise<Record<string, any>> {
  await closeBreaker();
  const clock = new ManualClock(Date.now() + ++evaluations * 5 * 60_000);
  setClock(clock);
  try {
    await bCompared(t, 6, clock.nowMs() - 1000, true);
    Costsim.forgetBreakerCache();
    const e = await asSystem(() => Costsim.evaluateDrift());
    expect(e).toMatchObject({ evaluated: true, outcome: "fail", tripped: true });
  } finally {
    setClock(systemClock);
    Costsim.forgetBreakerCache();
  }
  const s = await invoke("GET", STATUS, { key: t.b.keys.viewer.key });
  expect(s.body.breaker.open_incident).toMatchObject({ trigger: "schema_errors", resolved_at: null });
  expect(s.body.breaker.open_incident.figures.schema_errors).toBeGreaterThanOrEqual(6);
  return s.body.breaker.open_incident;
}

/** A canary run by B's admin over a window where B's recorded inputs are: its report. */
async function bCanary(t: Fixture): Promise<Record<string, any>> {
  await bInputs(t, 3);
  const res = await invoke("POST", RUN, { key: t.b.keys.admin.key });
  expect(res.status, res.text).toBe(200);
  expect(res.body.report.recent.samples).toBeGreaterThanOrEqual(3);
  return res.body;
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
  // The breaker is one for every tenant (V2 disabled for all or none), so there is no "A's
  // breaker" to confine the reset to: re-enabling V2 is the platform's action, which the route
  // grants to admin keys only (an admin key is the platform's operator in AOS: it may already read
  // any tenant's divergence report). A's admin resets the breaker B sees, no key of A below admin
  // can, and the reset touches no row of B's.
  "POST /api/v1/costsim/v2/reset": async (t) => {
    const incident = await tripOnBsErrors(t);
    const before = await bRows(t);
    for (const key of nonAdminsOf(t)) {
      const res = await invoke("POST", RESET, { key, body: { reason: "not an admin's" } });
      expect(res.status, res.text).toBe(403);
      expect(res.body.error.code).toMatch(/^auth\./);
    }
    const bStatus = () => invoke("GET", STATUS, { key: t.b.keys.viewer.key });
    expect((await bStatus()).body.breaker.state).toBe("OPEN");
    const res = await invoke("POST", RESET, {
      key: t.a.keys.admin.key,
      body: { reason: "platform reset by A's admin" },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ state: "CLOSED", v2_enabled: true, open_incident: null });
    namesNoB(t, res.text);
    expect((await bStatus()).body.breaker).toMatchObject({ state: "CLOSED", v2_enabled: true, open_incident: null });
    const listed = await invoke("GET", INCIDENTS, { key: t.b.keys.viewer.key, query: { limit: "1000" } });
    expect(listed.body.data.find((i: { id: string }) => i.id === incident.id)).toMatchObject({
      resolution: "reset",
      resolved_by: "an admin key",
    });
    expect(await bRows(t)).toEqual(before);
  },
  // The incidents are the platform's: A and B list the same ones; those B's comparisons caused
  // carry aggregates (counts, p95), never B.
  "GET /api/v1/costsim/v2/incidents": async (t) => {
    const incident = await tripOnBsErrors(t);
    for (const query of [{ limit: "1000" }, { open: "true" }] as Record<string, string>[]) {
      const a = await invoke("GET", INCIDENTS, { key: t.a.keys.viewer.key, query });
      const b = await invoke("GET", INCIDENTS, { key: t.b.keys.viewer.key, query });
      expect(a.status, a.text).toBe(200);
      expect(a.body).toEqual(b.body);
      expect(a.body.data[0]).toMatchObject({ id: incident.id, trigger: "schema_errors" });
      namesNoB(t, a.text);
    }
    const status = await invoke("GET", STATUS, { key: t.a.keys.viewer.key });
    expect(status.body.breaker.open_incident).toEqual(incident);
    namesNoB(t, JSON.stringify(status.body.breaker));
    await closeBreaker();
  },
  // As the reset: one canary for every tenant, run by an admin key (the platform's action); its
  // replay runs B's recorded plans again and names none of them; B reads the same report.
  "POST /api/v1/costsim/canary/run": async (t) => {
    await bInputs(t, 3);
    const count = async () => (await query("select id from costsim_canary_reports")).rows.length;
    const before = await count();
    for (const key of nonAdminsOf(t)) {
      const res = await invoke("POST", RUN, { key });
      expect(res.status, res.text).toBe(403);
      expect(res.body.error.code).toMatch(/^auth\./);
    }
    expect(await count()).toBe(before);
    const res = await invoke("POST", RUN, { key: t.a.keys.admin.key });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: "passed", requested_by: "an admin key" });
    expect(res.body.report.recent.samples).toBeGreaterThanOrEqual(3);
    namesNoB(t, res.text);
    const seenByB = await invoke("GET", `${REPORTS}/${res.body.id}`, { key: t.b.keys.viewer.key });
    expect(seenByB.body).toEqual(res.body);
  },
  "GET /api/v1/costsim/canary/reports": async (t) => {
    const report = await bCanary(t);
    const a = await invoke("GET", REPORTS, { key: t.a.keys.viewer.key, query: { limit: "1000" } });
    const b = await invoke("GET", REPORTS, { key: t.b.keys.viewer.key, query: { limit: "1000" } });
    expect(a.status, a.text).toBe(200);
    expect(a.body).toEqual(b.body);
    expect(a.body.data[0]).toEqual(report);
    namesNoB(t, a.text);
  },
  "GET /api/v1/costsim/canary/reports/{id}": async (t) => {
    const report = await bCanary(t);
    const a = await invoke("GET", `${REPORTS}/${report.id}`, { key: t.a.keys.viewer.key });
    expect(a.status, a.text).toBe(200);
    expect(a.body).toEqual(report);
    namesNoB(t, a.text);
    const unknown = randomUUID();
    for (const key of [t.a.keys.viewer.key, t.b.keys.viewer.key])
      expect((await invoke("GET", `${REPORTS}/${unknown}`, { key })).status).toBe(404);
  },
};
