/**
 * The export routes through their real handlers (`invoke`): create (202), read, download (302 to
 * S3), and every way each refuses: 400 for bad input, 403 for a role below operator, 404 for an
 * unknown or another tenant's export, 409 not ready, 410 expired, 429 past five open exports.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { handler as exportHandler } from "../../functions/queue/status-history-export.ts";
import { invoke, lambdaContext, sqsEvent } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let b: Tenant;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  b = await makeTenantWithKeys();
});

const EXPORT = "/api/v1/status_history/export";
const post = (body: unknown, key = t.keys.operator.key) => invoke("POST", EXPORT, { key, body });
const get = (id: string, key = t.keys.viewer.key, query?: Record<string, string>) =>
  invoke("GET", `/api/v1/status_history/exports/${id}`, { key, query });
const download = (id: string, key = t.keys.viewer.key) =>
  invoke("GET", `/api/v1/status_history/download/${id}`, { key });
const deliver = (exportId: string, tenantId: string) =>
  exportHandler(sqsEvent([{ exportId, tenantId }]), lambdaContext());

async function readyExport(tenant: Tenant = t): Promise<string> {
  const res = await post({ format: "csv" }, tenant.keys.operator.key);
  expect(res.status).toBe(202);
  expect((await deliver(res.body.id, tenant.tenant.id)).batchItemFailures).toEqual([]);
  return res.body.id;
}

const fields = (res: { body: any }) => res.body.error.details.fields.map((f: { field: string }) => f.field);

describe("POST /api/v1/status_history/export", () => {
  it("accepts an export: 202, pending, a location to follow, until fixed at now, history recorded", async () => {
    const since = "2026-01-01T00:00:00Z";
    const before = Date.now();
    const res = await post({ format: "jsonl", gzip: true, filters: { entity_type: "job", since } });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/api/v1/status_history/exports/${res.body.id}`);
    expect(res.body).toMatchObject({
      tenant_id: t.tenant.id,
      status: "pending",
      format: "jsonl",
      gzip: true,
      row_count: null,
      bytes: null,
      sha256: null,
      attempts: 0,
      completed_at: null,
      expires_at: null,
      filters: { entity_type: "job", since: "2026-01-01T00:00:00.000Z" },
    });
    const until = Date.parse(res.body.filters.until);
    expect(until).toBeGreaterThanOrEqual(before - 1);
    expect(until).toBeLessThanOrEqual(Date.now());
    const followed = await get(res.body.id);
    expect(followed.status).toBe(200);
    expect(followed.body).toEqual(res.body);
    const { rows } = await query(
      "select old_status, new_status, actor from status_history where entity_type = 'export' and entity_id = $1",
      [res.body.id],
    );
    expect(rows).toEqual([{ old_status: null, new_status: "pending", actor: `key:${t.keys.operator.id}` }]);
  });

  it("lets an admin export another tenant's history; the location names that tenant", async () => {
    const res = await post({ format: "csv", tenant: b.tenant.slug }, t.keys.admin.key);
    expect(res.status).toBe(202);
    expect(res.body.tenant_id).toBe(b.tenant.id);
    expect(res.headers.location).toBe(`/api/v1/status_history/exports/${res.body.id}?tenant=${b.tenant.id}`);
    expect((await get(res.body.id, t.keys.admin.key, { tenant: b.tenant.id })).status).toBe(200);
    expect((await get(res.body.id, b.keys.viewer.key)).status).toBe(200);
  });

  it.each([
    ["an unknown format", { format: "xml" }, ["body.format"]],
    ["no format", { gzip: true }, ["body.format"]],
    ["an unknown field", { format: "csv", compress: true }, ["body.compress"]],
    ["an unknown filter", { format: "csv", filters: { entity_type: "job", status: "x" } }, ["body.filters.status"]],
    ["a bad entity type", { format: "csv", filters: { entity_type: "Job!" } }, ["body.filters.entity_type"]],
    ["a since that is not an instant", { format: "csv", filters: { since: "yesterday" } }, ["body.filters.since"]],
    [
      "since not before until",
      { format: "csv", filters: { since: "2026-02-01T00:00:00Z", until: "2026-02-01T00:00:00Z" } },
      ["body.filters.since"],
    ],
    [
      "since in the future (until defaults to now)",
      { format: "csv", filters: { since: "2999-01-01T00:00:00Z" } },
      ["body.filters.since"],
    ],
    ["gzip not a boolean", { format: "csv", gzip: "yes" }, ["body.gzip"]],
    ["filters not an object", { format: "csv", filters: [] }, ["body.filters"]],
  ])("rejects %s with 400 naming the field", async (_what, body, expected) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation.invalid_input");
    expect(fields(res)).toEqual(expected);
  });

  it("rejects malformed JSON with 400", async () => {
    const res = await invoke("POST", EXPORT, { key: t.keys.operator.key, rawBody: '{"format": "csv",' });
    expect(res.status).toBe(400);
    expect(fields(res)).toEqual(["body"]);
    expect(res.body.error.details.fields[0].message).toMatch(/^not valid JSON/);
  });

  it("needs an operator key: viewer and agent get 403, no key 401", async () => {
    for (const key of [t.keys.viewer.key, t.keys.agent.key]) {
      const res = await post({ format: "csv" }, key);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.forbidden");
    }
    expect((await invoke("POST", EXPORT, { body: { format: "csv" } })).status).toBe(401);
  });

  it("allows five open exports per tenant: the sixth is 429 until one finishes", async () => {
    const own = await makeTenantWithKeys();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post({ format: "csv" }, own.keys.operator.key);
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    const sixth = await post({ format: "csv" }, own.keys.operator.key);
    expect(sixth.status).toBe(429);
    expect(sixth.body.error).toMatchObject({ code: "status_history.too_many_exports", details: { limit: 5 } });
    // Another tenant's limit is its own.
    expect((await post({ format: "csv" }, b.keys.operator.key)).status).toBe(202);
    await deliver(ids[0]!, own.tenant.id);
    expect((await post({ format: "csv" }, own.keys.operator.key)).status).toBe(202);
  });

  it("holds the limit under concurrent requests", async () => {
    const own = await makeTenantWithKeys();
    const res = await Promise.all(Array.from({ length: 8 }, () => post({ format: "jsonl" }, own.keys.operator.key)));
    expect(res.map((r) => r.status).sort()).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
  });
});

describe("GET /api/v1/status_history/exports/{id}", () => {
  it("reads an export of the tenant, ready with row count, bytes, sha256 and expiry", async () => {
    const id = await readyExport();
    const res = await get(id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: "ready", attempts: 1, last_error: null });
    expect(res.body.row_count).toBeGreaterThanOrEqual(1);
    expect(res.body.bytes).toBeGreaterThan(0);
    expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(res.body.expires_at) - Date.parse(res.body.completed_at)).toBe(168 * 3_600_000);
  });

  it("answers 404 for an unknown id and for another tenant's export, 400 for an id that is not a uuid", async () => {
    const unknown = await get(crypto.randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("status_history.export_not_found");
    const theirs = (await post({ format: "csv" }, b.keys.operator.key)).body.id;
    const res = await get(theirs);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("status_history.export_not_found");
    const bad = await get("not-a-uuid");
    expect(bad.status).toBe(400);
    expect(fields(bad)).toEqual(["path.id"]);
  });
});

describe("GET /api/v1/status_history/download/{id}", () => {
  it("redirects (302) to a presigned S3 URL, not cached", async () => {
    const id = await readyExport();
    const res = await download(id);
    expect(res.status).toBe(302);
    expect(res.headers["cache-control"]).toBe("no-store");
    const url = new URL(res.headers.location as string);
    expect(url.pathname).toContain(`/exports/status-history/${t.tenant.id}/${id}.csv`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("3600");
    expect(res.text).toBe("");
    expect((await fetch(url)).status).toBe(200);
  });

  it("answers 409 while the export is not ready", async () => {
    const id = (await post({ format: "csv" })).body.id;
    const res = await download(id);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "status_history.export_not_ready", details: { status: "pending" } });
  });

  it("answers 410 once the export expired (past expires_at, or marked expired)", async () => {
    const id = await readyExport();
    await query("update status_history_exports set expires_at = now() - interval '1 second' where id = $1", [id]);
    const past = await download(id);
    expect(past.status).toBe(410);
    expect(past.body.error.code).toBe("status_history.export_expired");
    expect((await get(id)).body.status).toBe("expired");
    await query("update status_history_exports set status = 'expired' where id = $1", [id]);
    expect((await download(id)).status).toBe(410);
  });

  it("answers 404 for another tenant's export, even a ready one", async () => {
    const theirs = await readyExport(b);
    const res = await download(theirs);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("status_history.export_not_found");
    expect((await download(theirs, b.keys.viewer.key)).status).toBe(302);
  });
});
