/** Cross-tenant cases of the platform and tenancy routes (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { invoke } from "../../events/index.ts";
import type { Cases } from "./fixture.ts";

export const tenancyCases: Cases = {
  "GET /health": async ({ b }) => {
    const res = await invoke("GET", "/health");
    expect(JSON.stringify(res.body)).not.toContain(b.tenant.id);
  },
  "GET /openapi.json": async ({ b }) => {
    const res = await invoke("GET", "/openapi.json");
    expect(res.text).not.toContain(b.tenant.id);
  },
  "GET /metrics": async ({ a }) => {
    // Platform-wide numbers: admin only, so a tenant's operator cannot read other tenants' traffic.
    expect((await invoke("GET", "/metrics", { key: a.keys.operator.key })).status).toBe(403);
  },
  "POST /api/v1/tenants": async ({ a }) => {
    expect(
      (await invoke("POST", "/api/v1/tenants", { key: a.keys.operator.key, body: { slug: "x-a", name: "x" } })).status,
    ).toBe(403);
  },
  "GET /api/v1/tenants": async ({ a }) => {
    expect((await invoke("GET", "/api/v1/tenants", { key: a.keys.operator.key })).status).toBe(403);
  },
  "POST /api/v1/keys": async ({ a, b }) => {
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const res = await invoke("POST", "/api/v1/keys", { key: a.keys.operator.key, body: { role: "agent", tenant } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.cross_tenant");
    }
    const own = await invoke("POST", "/api/v1/keys", { key: a.keys.operator.key, body: { role: "agent" } });
    expect(own.body.tenant_id).toBe(a.tenant.id);
  },
  "GET /api/v1/keys": async ({ a, b }) => {
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
  "DELETE /api/v1/keys/{id}": async ({ a, b, bKey }) => {
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
