/**
 * A key of tenant A never sees or changes a row of tenant B: one case per route of routes.ts.
 * The last test fails when a route is added without a case here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { routeKey, routes } from "../../functions/routes.ts";
import { invoke } from "../events/index.ts";
import { makeKey, makeTenantWithKeys } from "../factories/tenancy.ts";

let a: Awaited<ReturnType<typeof makeTenantWithKeys>>;
let b: Awaited<ReturnType<typeof makeTenantWithKeys>>;
let bKey: { key: string; id: string };
beforeAll(async () => {
  a = await makeTenantWithKeys();
  b = await makeTenantWithKeys();
  bKey = await makeKey({ tenantId: b.tenant.id, role: "agent" });
});

const cases: Record<string, () => Promise<void>> = {
  "GET /health": async () => {
    const res = await invoke("GET", "/health");
    expect(JSON.stringify(res.body)).not.toContain(b.tenant.id);
  },
  "GET /openapi.json": async () => {
    const res = await invoke("GET", "/openapi.json");
    expect(res.text).not.toContain(b.tenant.id);
  },
  "GET /metrics": async () => {
    // Platform-wide numbers: admin only, so a tenant's operator cannot read other tenants' traffic.
    expect((await invoke("GET", "/metrics", { key: a.keys.operator.key })).status).toBe(403);
  },
  "POST /api/v1/tenants": async () => {
    expect(
      (await invoke("POST", "/api/v1/tenants", { key: a.keys.operator.key, body: { slug: "x-a", name: "x" } })).status,
    ).toBe(403);
  },
  "GET /api/v1/tenants": async () => {
    expect((await invoke("GET", "/api/v1/tenants", { key: a.keys.operator.key })).status).toBe(403);
  },
  "POST /api/v1/keys": async () => {
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const res = await invoke("POST", "/api/v1/keys", { key: a.keys.operator.key, body: { role: "agent", tenant } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.cross_tenant");
    }
    const own = await invoke("POST", "/api/v1/keys", { key: a.keys.operator.key, body: { role: "agent" } });
    expect(own.body.tenant_id).toBe(a.tenant.id);
  },
  "GET /api/v1/keys": async () => {
    const res = await invoke("GET", "/api/v1/keys", {
      key: a.keys.operator.key,
      query: { include_revoked: "true", limit: "1000" },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.every((k: { tenant_id: string }) => k.tenant_id === a.tenant.id)).toBe(true);
    expect(JSON.stringify(res.body)).not.toContain(b.tenant.id);
    const named = await invoke("GET", "/api/v1/keys", { key: a.keys.operator.key, query: { tenant: b.tenant.slug } });
    expect(named.status).toBe(403);
  },
  "DELETE /api/v1/keys/{id}": async () => {
    const res = await invoke("DELETE", `/api/v1/keys/${bKey.id}`, { key: a.keys.operator.key });
    expect(res.status).toBe(404);
    const named = await invoke("DELETE", `/api/v1/keys/${bKey.id}`, {
      key: a.keys.operator.key,
      query: { tenant: b.tenant.id },
    });
    expect(named.status).toBe(403);
    // B's key still works.
    expect((await invoke("GET", "/api/v1/keys", { key: b.keys.operator.key })).status).toBe(200);
    const list = await invoke("GET", "/api/v1/keys", { key: b.keys.operator.key });
    expect(list.body.data.some((k: { id: string }) => k.id === bKey.id)).toBe(true);
  },
};

describe("cross-tenant access", () => {
  for (const route of routes) {
    const key = routeKey(route);
    it(`${key} never reaches another tenant's data`, async () => {
      const check = cases[key];
      expect(check, `add a cross-tenant case for ${key} to this file`).toBeDefined();
      await check?.();
    });
  }

  it("has no case for a route that no longer exists", () => {
    const keys = new Set(routes.map(routeKey));
    expect(Object.keys(cases).filter((k) => !keys.has(k))).toEqual([]);
  });
});
