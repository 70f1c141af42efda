/**
 * The job lifecycle routes through their real handlers: spawn (201, 400, 402), simulate, list,
 * get, items and cancel, with roles and the error envelope.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { invoke } from "../events/index.ts";
import { assertCreditInvariants, grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const fieldsOf = (res: { body: any }): string[] => res.body.error.details.fields.map((f: { field: string }) => f.field);
const items = (n: number, input: (i: number) => unknown = (i) => ({ n: i })) =>
  Array.from({ length: n }, (_, i) => ({ input: input(i) }));

let t: Tenant;
let other: Tenant;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  other = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 500);
  await grantCredits(other.tenant.id, 500);
});
afterEach(async () => {
  await assertCreditInvariants(t.tenant.id);
  await assertCreditInvariants(other.tenant.id);
});

const spawn = (body: unknown, key = t.keys.agent.key) => invoke("POST", "/api/v1/jobs", { key, body });

describe("POST /api/v1/jobs", () => {
  it("201 with the job and its location; defaults applied", async () => {
    const res = await spawn({ task: "external", items: items(3), credits_per_item: 2 });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/jobs/${res.body.id}`);
    expect(res.body).toMatchObject({
      tenant_id: t.tenant.id,
      status: "running",
      parallelism: 10,
      max_attempts: 3,
      item_timeout_s: 60,
      items_total: 3,
      counts: { pending: 3 },
      credits: { reserved: 6, charged: 0 },
    });
  });

  it("400 naming each bad field: the body, an unknown task, an item input the skill refuses", async () => {
    const empty = await spawn({ task: "external", items: [], parallelism: 0 });
    expect(empty.status).toBe(400);
    expect(fieldsOf(empty).sort()).toEqual(["body.items", "body.parallelism"]);
    const unknown = await spawn({ task: "no_such_skill", items: items(1) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("jobs.unknown_task");
    expect(fieldsOf(unknown)).toEqual(["body.task"]);
    const bad = await spawn({
      task: "kv_store",
      items: items(2, (i) => (i === 1 ? { op: "get" } : { op: "get", key: "k" })),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("jobs.invalid_item_input");
    expect(fieldsOf(bad)).toEqual(["body.items.1.input.key"]);
  });

  it("402 credits.insufficient with required and available; nothing written", async () => {
    const poor = await makeTenantWithKeys();
    await grantCredits(poor.tenant.id, 3);
    const res = await spawn({ task: "external", items: items(4) }, poor.keys.agent.key);
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: "credits.insufficient", details: { required: 4, available: 3 } });
    const { rows } = await query<{ n: number }>("select count(*)::int as n from jobs where tenant_id = $1", [
      poor.tenant.id,
    ]);
    expect(rows[0]?.n).toBe(0);
    await assertCreditInvariants(poor.tenant.id);
  });

  it("needs an agent key: a viewer gets 403, no key 401", async () => {
    expect((await spawn({ task: "external", items: items(1) }, t.keys.viewer.key)).status).toBe(403);
    expect((await invoke("POST", "/api/v1/jobs", { body: { task: "external", items: items(1) } })).status).toBe(401);
  });
});

describe("POST /api/v1/jobs/simulate", () => {
  it("200 with estimates, warnings and risks; spawns nothing", async () => {
    const { rows: before } = await query<{ n: number }>("select count(*)::int as n from jobs where tenant_id = $1", [
      t.tenant.id,
    ]);
    const res = await invoke("POST", "/api/v1/jobs/simulate", {
      key: t.keys.agent.key,
      body: { task: "kv_store", items: items(1000, (i) => ({ op: "incr", key: `k${i}` })), parallelism: 200 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      task: "kv_store",
      items: 1000,
      estimated_credits: 1000,
      duration_basis: "default",
    });
    expect(res.body.warnings.map((w: { code: string }) => w.code).sort()).toEqual([
      "credits.insufficient",
      "jobs.parallelism_above_limit",
    ]);
    expect(res.body.risks.map((r: { code: string }) => r.code)).toContain("jobs.side_effect_retry");
    const { rows: after } = await query<{ n: number }>("select count(*)::int as n from jobs where tenant_id = $1", [
      t.tenant.id,
    ]);
    expect(after).toEqual(before);
  });

  it("400 for an item input the skill refuses; 403 for a viewer", async () => {
    const bad = await invoke("POST", "/api/v1/jobs/simulate", {
      key: t.keys.agent.key,
      body: { task: "kv_store", items: [{ input: { op: "get" } }] },
    });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad)).toEqual(["body.items.0.input.key"]);
    const viewer = await invoke("POST", "/api/v1/jobs/simulate", {
      key: t.keys.viewer.key,
      body: { task: "external", items: items(1) },
    });
    expect(viewer.status).toBe(403);
  });
});

describe("GET /api/v1/jobs, /{id}, /{id}/items", () => {
  // A tenant of its own, so the listing holds exactly these three jobs.
  let lister: Tenant;
  const ids: string[] = [];
  beforeAll(async () => {
    lister = await makeTenantWithKeys();
    await grantCredits(lister.tenant.id, 100);
    for (const n of [1, 2, 3])
      ids.push((await spawn({ task: "external", items: items(n) }, lister.keys.agent.key)).body.id);
  });

  it("lists newest first in pages a viewer can read, and filters by status", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await invoke("GET", "/api/v1/jobs", {
        key: lister.keys.viewer.key,
        query: { limit: "2", ...(cursor ? { cursor } : {}) },
      });
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((j: { id: string }) => j.id));
      cursor = res.body.next_cursor ?? undefined;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual([...ids].reverse());
    const none = await invoke("GET", "/api/v1/jobs", { key: lister.keys.viewer.key, query: { status: "completed" } });
    expect(none.body).toEqual({ data: [], next_cursor: null });
    const bad = await invoke("GET", "/api/v1/jobs", { key: lister.keys.viewer.key, query: { status: "done" } });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad)).toEqual(["query.status"]);
    await assertCreditInvariants(lister.tenant.id);
  });

  it("gets one job and its items; 404 for an unknown id, 400 for a malformed one", async () => {
    const id = ids[2] as string;
    const job = await invoke("GET", `/api/v1/jobs/${id}`, { key: lister.keys.viewer.key });
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ id, items_total: 3, counts: { pending: 3 } });
    const page = await invoke("GET", `/api/v1/jobs/${id}/items`, {
      key: lister.keys.viewer.key,
      query: { limit: "2" },
    });
    expect(page.status).toBe(200);
    expect(page.body.data.map((i: { idx: number }) => i.idx)).toEqual([0, 1]);
    const rest = await invoke("GET", `/api/v1/jobs/${id}/items`, {
      key: lister.keys.viewer.key,
      query: { cursor: page.body.next_cursor },
    });
    expect(rest.body).toMatchObject({ data: [{ idx: 2, input: { n: 2 } }], next_cursor: null });
    const missing = await invoke("GET", "/api/v1/jobs/00000000-0000-4000-8000-000000000000", {
      key: lister.keys.viewer.key,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("jobs.not_found");
    const malformed = await invoke("GET", "/api/v1/jobs/not-a-uuid/items", { key: lister.keys.viewer.key });
    expect(malformed.status).toBe(400);
    expect(fieldsOf(malformed)).toEqual(["path.id"]);
  });
});

describe("POST /api/v1/jobs/{id}/cancel", () => {
  it("cancels with or without a body; a second cancel answers the same; a viewer gets 403", async () => {
    const id = (await spawn({ task: "external", items: items(4), credits_per_item: 1.25 })).body.id;
    const path = `/api/v1/jobs/${id}/cancel`;
    expect((await invoke("POST", path, { key: t.keys.viewer.key })).status).toBe(403);
    const first = await invoke("POST", path, { key: t.keys.agent.key });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      job_id: id,
      status: "cancelled",
      completed_items: 0,
      cancelled_items: 4,
      in_flight_items: 0,
      credits_refunded: 5,
    });
    const second = await invoke("POST", path, { key: t.keys.agent.key, body: { reason: "again" } });
    expect(second.body).toEqual(first.body);
    const job = await invoke("GET", `/api/v1/jobs/${id}`, { key: t.keys.viewer.key });
    expect(job.body).toMatchObject({ status: "cancelled", credits: { reserved: 5, refunded: 5 } });
  });

  it("409 jobs.not_running for a job that completed", async () => {
    const id = (await spawn({ task: "external", items: items(1) })).body.id;
    const claimed = await invoke("POST", `/api/v1/jobs/${id}/claim`, {
      key: t.keys.agent.key,
      body: { worker_id: "w" },
    });
    const itemId = claimed.body.items[0].id;
    const done = await invoke("POST", `/api/v1/items/${itemId}/complete`, {
      key: t.keys.agent.key,
      body: { worker_id: "w", result: 1 },
    });
    expect(done.status).toBe(200);
    const res = await invoke("POST", `/api/v1/jobs/${id}/cancel`, { key: t.keys.agent.key });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "jobs.not_running", details: { job_id: id, status: "completed" } });
  });
});
