/** Cross-tenant cases of the failure catalog routes (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { withContext } from "../../../core/context.ts";
import * as Failures from "../../../core/failures/index.ts";
import { query } from "../../../core/platform/db/index.ts";
import { UpstreamError } from "../../../core/skills/errors.ts";
import { invoke } from "../../events/index.ts";
import type { Cases, Fixture } from "./fixture.ts";

/** A failure recorded for B (as B's worker would): a row A must never see nor change. */
async function bFailure({ b }: Fixture): Promise<string> {
  const r = await withContext(
    { requestId: "t", correlationId: "t", actor: { type: "system", name: "b-worker", tenantId: b.tenant.id } },
    () =>
      Failures.record({
        error: new UpstreamError("slack", "slack answered 503", { retryable: true, status: 503 }),
        runId: `b-run-${Date.now()}`,
      }),
  );
  expect(r.outcome).toBe("written");
  return r.id;
}

const bRows = async ({ b }: Fixture) =>
  (await query("select * from failure_matches where tenant_id = $1 order by id", [b.tenant.id])).rows;

/** Naming B with any non-admin key of A is 403 auth.cross_tenant, by slug and by id. */
async function namingBIsRefused({ a, b }: Fixture, method: string, path: string, body?: unknown) {
  for (const key of [a.keys.viewer.key, a.keys.agent.key, a.keys.operator.key])
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const res = await invoke(method, path, { key, query: { tenant }, ...(body ? { body } : {}) });
      expect([403, 404], `${method} ${path} as A naming B`).toContain(res.status);
      if (res.status === 403) expect(res.body.error.code).toMatch(/^auth\./);
    }
}

/** A's listing never holds B's row. */
async function listNeverShowsB(t: Fixture, path: string) {
  const id = await bFailure(t);
  for (const key of [t.a.keys.viewer.key, t.a.keys.operator.key, t.a.keys.admin.key]) {
    const res = await invoke("GET", path, { key, query: { limit: "1000" } });
    expect(res.status).toBe(200);
    expect(res.body.data.map((r: { id: string }) => r.id)).not.toContain(id);
    for (const r of res.body.data) expect(r.tenant_id).toBe(t.a.tenant.id);
  }
  await namingBIsRefused(t, "GET", path);
}

export const failureCases: Cases = {
  "GET /api/v1/failures/catalog": async (t) => {
    await bFailure(t);
    const a = await invoke("GET", "/api/v1/failures/catalog", { key: t.a.keys.viewer.key });
    const b = await invoke("GET", "/api/v1/failures/catalog", { key: t.b.keys.viewer.key });
    expect(a.status).toBe(200);
    // The catalog is the same for everyone and carries no tenant's data.
    expect(a.body).toEqual(b.body);
    expect(a.text).not.toContain(t.b.tenant.id);
  },
  "POST /api/v1/failures/classify": async (t) => {
    await bFailure(t);
    const before = await bRows(t);
    const res = await invoke("POST", "/api/v1/failures/classify", {
      key: t.a.keys.operator.key,
      body: { code: "skills.upstream_error", status: 503, message: "slack answered 503" },
    });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(t.b.tenant.id);
    expect(await bRows(t)).toEqual(before);
  },
  "GET /api/v1/failures": (t) => listNeverShowsB(t, "/api/v1/failures"),
  "GET /api/v1/failures/unrecovered": (t) => listNeverShowsB(t, "/api/v1/failures/unrecovered"),
  "GET /api/v1/failures/stats": async (t) => {
    const fresh = await invoke("GET", "/api/v1/failures/stats", { key: t.a.keys.viewer.key });
    await bFailure(t);
    const after = await invoke("GET", "/api/v1/failures/stats", { key: t.a.keys.viewer.key });
    expect(after.status).toBe(200);
    expect(after.body.total).toBe(fresh.body.total);
    await namingBIsRefused(t, "GET", "/api/v1/failures/stats");
  },
  "GET /api/v1/failures/{id}": async (t) => {
    const id = await bFailure(t);
    for (const key of [t.a.keys.viewer.key, t.a.keys.operator.key, t.a.keys.admin.key]) {
      const res = await invoke("GET", `/api/v1/failures/${id}`, { key });
      expect(res.status).toBe(404);
      expect(res.text).not.toContain("slack answered");
    }
    await namingBIsRefused(t, "GET", `/api/v1/failures/${id}`);
    // B sees its own.
    expect((await invoke("GET", `/api/v1/failures/${id}`, { key: t.b.keys.viewer.key })).status).toBe(200);
  },
  "PATCH /api/v1/failures/{id}/recovery": async (t) => {
    const id = await bFailure(t);
    const before = await bRows(t);
    const body = { recovery_succeeded: true, notes: "forged by A" };
    for (const key of [t.a.keys.operator.key, t.a.keys.admin.key]) {
      const res = await invoke("PATCH", `/api/v1/failures/${id}/recovery`, { key, body });
      expect(res.status).toBe(404);
    }
    await namingBIsRefused(t, "PATCH", `/api/v1/failures/${id}/recovery`, body);
    expect(await bRows(t)).toEqual(before);
    const history = await query("select 1 from status_history where entity_type = 'failure' and entity_id = $1", [id]);
    expect(history.rows).toEqual([]);
  },
};
