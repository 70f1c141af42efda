/** Cross-tenant cases of the status history routes (see ../cross-tenant.test.ts). */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { invoke } from "../../events/index.ts";
import { change, recordHistory } from "../../factories/status-history.ts";
import type { Cases, Fixture } from "./fixture.ts";

const tag = () => randomBytes(4).toString("hex");

/** Naming B with any non-admin key of A is 403 auth.cross_tenant, by slug and by id. */
async function namingBIsRefused({ a, b }: Fixture, path: string, query: Record<string, string> = {}) {
  for (const key of [a.keys.viewer.key, a.keys.operator.key])
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const res = await invoke("GET", path, { key, query: { ...query, tenant } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.cross_tenant");
    }
}

export const statusHistoryCases: Cases = {
  "GET /api/v1/status_history": async (t) => {
    const { a, b } = t;
    const shared = `shared-${tag()}`;
    const bOnly = `b-only-${tag()}`;
    const bRows = await recordHistory(b.tenant.id, [change({ entity_id: bOnly }), change({ entity_id: shared })]);
    const [aRow] = await recordHistory(a.tenant.id, [change({ entity_id: shared })]);
    const all = await invoke("GET", "/api/v1/status_history", { key: a.keys.viewer.key, query: { limit: "1000" } });
    expect(all.status).toBe(200);
    expect(all.body.data.length).toBeGreaterThan(0);
    expect(all.body.data.every((r: { tenant_id: string }) => r.tenant_id === a.tenant.id)).toBe(true);
    expect(JSON.stringify(all.body)).not.toContain(b.tenant.id);
    const ids = all.body.data.map((r: { id: number }) => r.id);
    for (const r of bRows) expect(ids).not.toContain(r.id);
    for (const [entity_id, expected] of [
      [bOnly, []],
      [shared, [aRow!.id]],
    ] as const) {
      const res = await invoke("GET", "/api/v1/status_history", { key: a.keys.viewer.key, query: { entity_id } });
      expect(res.body.data.map((r: { id: number }) => r.id)).toEqual(expected);
    }
    await namingBIsRefused(t, "/api/v1/status_history");
  },

  "GET /api/v1/status_history/entity/{type}/{id}": async (t) => {
    const { a, b } = t;
    const shared = `run-${tag()}`;
    const bOnly = `run-${tag()}`;
    await recordHistory(b.tenant.id, [
      change({ entity_type: "workflow_run", entity_id: bOnly }),
      change({ entity_type: "workflow_run", entity_id: shared, new_status: "b-status" }),
    ]);
    const [aRow] = await recordHistory(a.tenant.id, [change({ entity_type: "workflow_run", entity_id: shared })]);
    const bs = await invoke("GET", `/api/v1/status_history/entity/workflow_run/${bOnly}`, { key: a.keys.viewer.key });
    expect(bs.status).toBe(200);
    expect(bs.body).toEqual({ data: [], next_cursor: null });
    const mine = await invoke("GET", `/api/v1/status_history/entity/workflow_run/${shared}`, {
      key: a.keys.viewer.key,
    });
    expect(mine.body.data.map((r: { id: number }) => r.id)).toEqual([aRow!.id]);
    expect(JSON.stringify(mine.body)).not.toContain(b.tenant.id);
    await namingBIsRefused(t, `/api/v1/status_history/entity/workflow_run/${bOnly}`);
  },

  "GET /api/v1/status_history/stats": async (t) => {
    const { a, b } = t;
    const type = `ct_${tag()}`;
    await recordHistory(b.tenant.id, [change({ entity_type: type }), change({ entity_type: type, new_status: "b" })]);
    await recordHistory(b.tenant.id, 5);
    await recordHistory(a.tenant.id, [change({ entity_type: type })]);
    const res = await invoke("GET", "/api/v1/status_history/stats", {
      key: a.keys.viewer.key,
      query: { entity_type: type },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      tenant_id: a.tenant.id,
      total: 1,
      by_entity_type: [{ entity_type: type, count: 1 }],
      by_new_status: [{ new_status: "running", count: 1 }],
    });
    // Unfiltered, A's total is A's own rows of the window, none of B's.
    const all = await invoke("GET", "/api/v1/status_history/stats", { key: a.keys.viewer.key });
    const own = await invoke("GET", "/api/v1/status_history", { key: a.keys.viewer.key, query: { limit: "1000" } });
    expect(all.body.total).toBe(own.body.data.length);
    expect(JSON.stringify(all.body)).not.toContain(b.tenant.id);
    await namingBIsRefused(t, "/api/v1/status_history/stats");
  },
};
