import { beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { invoke } from "../events/index.ts";
import { makeKey, makeTenantWithKeys, tampered } from "../factories/tenancy.ts";

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  t = await makeTenantWithKeys();
});

describe("authentication", () => {
  it("answers 401 with the envelope when no key is sent", async () => {
    const res = await invoke("GET", "/api/v1/keys");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { code: "auth.missing_key", message: expect.any(String), details: null, requestId: expect.any(String) },
    });
    expect(res.headers["x-request-id"]).toBe(res.body.error.requestId);
    // Errors carry CORS headers too, or a browser could not read them.
    expect(res.headers["access-control-allow-origin"]).toBe("*");
  });

  it("refuses a malformed, an unknown and a tampered key with 401", async () => {
    for (const key of ["nope", "aos_short", `aos_${"A".repeat(32)}`, tampered(t.keys.viewer.key)]) {
      const res = await invoke("GET", "/api/v1/keys", { key });
      expect(res.status, key).toBe(401);
      expect(res.body.error.code).toBe("auth.invalid_key");
    }
  });

  it("accepts a valid key and notes its use", async () => {
    const res = await invoke("GET", "/api/v1/keys", { key: t.keys.operator.key });
    expect(res.status).toBe(200);
  });

  it("refuses a viewer key on an admin route with 403", async () => {
    const res = await invoke("GET", "/api/v1/tenants", { key: t.keys.viewer.key });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: "auth.forbidden", details: { required: "admin", role: "viewer" } });
  });

  it("refuses an agent key on an operator route with 403 and lets an admin through", async () => {
    expect((await invoke("POST", "/api/v1/keys", { key: t.keys.agent.key, body: { role: "viewer" } })).status).toBe(
      403,
    );
    expect((await invoke("GET", "/api/v1/tenants", { key: t.keys.admin.key })).status).toBe(200);
  });

  it("refuses a revoked key at once, even though its lookup was cached", async () => {
    const k = await makeKey({ tenantId: t.tenant.id, role: "viewer" });
    expect((await invoke("GET", "/api/v1/keys", { key: k.key })).status).toBe(403); // viewer < operator, but known
    const del = await invoke("DELETE", `/api/v1/keys/${k.id}`, { key: t.keys.operator.key });
    expect(del.status).toBe(200);
    expect(del.body.revoked_at).toEqual(expect.any(String));
    const after = await invoke("GET", "/api/v1/keys", { key: k.key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("auth.key_revoked");
  });

  it("refuses an expired key", async () => {
    const k = await makeKey({ tenantId: t.tenant.id, role: "operator", expiresInDays: 1 });
    await query("update api_keys set expires_at = now() - interval '1 second' where id = $1", [k.id]);
    const res = await invoke("GET", "/api/v1/keys", { key: k.key });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("auth.key_expired");
  });

  it("refuses keys of a suspended tenant with 403", async () => {
    const s = await makeTenantWithKeys();
    await query("update tenants set status = 'suspended' where id = $1", [s.tenant.id]);
    const res = await invoke("GET", "/api/v1/keys", { key: s.keys.operator.key });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("tenancy.tenant_suspended");
  });

  it("stores only the SHA-256 of a key, never the key", async () => {
    const { rows } = await query<{ prefix: string; key_hash: Buffer }>(
      "select prefix, key_hash from api_keys where id = $1",
      [t.keys.admin.id],
    );
    expect(rows[0]?.key_hash.length).toBe(32);
    const dump = JSON.stringify((await query("select * from api_keys")).rows);
    for (const k of Object.values(t.keys)) expect(dump).not.toContain(k.key);
  });
});

describe("validation", () => {
  it("answers 400 (not 415) to malformed JSON", async () => {
    const res = await invoke("POST", "/api/v1/keys", { key: t.keys.operator.key, rawBody: '{"role": "viewer",' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation.invalid_input");
    expect(res.body.error.details.fields[0].field).toBe("body");
  });

  it("names both fields of a body with two bad fields", async () => {
    const res = await invoke("POST", "/api/v1/tenants", {
      key: t.keys.admin.key,
      body: { slug: "Bad Slug!", name: "" },
    });
    expect(res.status).toBe(400);
    const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["body.slug", "body.name"]));
    expect(res.body.error.message).toContain("body.slug");
  });

  it("validates path and query parameters", async () => {
    const bad = await invoke("DELETE", "/api/v1/keys/not-a-uuid", { key: t.keys.operator.key });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields[0].field).toBe("path.id");
    const q = await invoke("GET", "/api/v1/keys", { key: t.keys.operator.key, query: { limit: "0", cursor: "%%%" } });
    expect(q.status).toBe(400);
    expect(q.body.error.details.fields.map((f: { field: string }) => f.field)).toContain("query.limit");
  });

  it("refuses a non-JSON content type", async () => {
    const res = await invoke("POST", "/api/v1/keys", {
      key: t.keys.operator.key,
      rawBody: "role=viewer",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(400);
  });
});
