/**
 * The credits routes through their real handlers: grants (admin only, by slug or id, validated),
 * the live balance, and the ledger (newest first, keyset pages, kind and job filters).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import * as Credits from "../../core/credits/index.ts";
import { encodeCursor } from "../../core/platform/pagination.ts";
import { invoke } from "../events/index.ts";
import { assertCreditInvariants, grantCredits, insertBareJob } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const GRANTS = "/api/v1/credits/grants";
const CREDITS = "/api/v1/credits";
const LEDGER = "/api/v1/credits/ledger";
const fieldsOf = (res: { body: any }): string[] => res.body.error.details.fields.map((f: { field: string }) => f.field);
const ids = (res: { body: any }): number[] => res.body.data.map((r: { id: number }) => r.id);
const asWorker = <T>(fn: () => Promise<T>) =>
  withContext({ requestId: "t", correlationId: "t", actor: { type: "system", name: "worker" } }, fn);

let t: Tenant;
let other: Tenant;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  other = await makeTenantWithKeys();
});

describe("POST /api/v1/credits/grants", () => {
  it("an admin grants to its own tenant (201, live figures) and to another by slug or id", async () => {
    const own = await invoke("POST", GRANTS, { key: t.keys.admin.key, body: { amount: 10.5, reason: "top-up" } });
    expect(own.status).toBe(201);
    expect(own.body).toEqual({ tenant_id: t.tenant.id, balance: 10.5, reserved: 0, available: 10.5 });
    // `tenant`, as every other route names it; `tenant_id`, its deprecated name, still works.
    for (const target of [
      { tenant: other.tenant.slug },
      { tenant: other.tenant.id },
      { tenant_id: other.tenant.slug },
      { tenant: other.tenant.id, tenant_id: other.tenant.id },
    ]) {
      const res = await invoke("POST", GRANTS, {
        key: t.keys.admin.key,
        body: { ...target, amount: 1, reason: "gift" },
      });
      expect(res.status, JSON.stringify(target)).toBe(201);
      expect(res.body.tenant_id).toBe(other.tenant.id);
    }
    const got = await invoke("GET", CREDITS, { key: other.keys.viewer.key });
    expect(got.body).toEqual({ tenant_id: other.tenant.id, balance: 4, reserved: 0, available: 4 });
    const ledger = await invoke("GET", LEDGER, { key: other.keys.viewer.key });
    expect(ledger.body.data.map((r: any) => [r.kind, r.amount, r.reason, r.actor])).toEqual(
      Array.from({ length: 4 }, () => ["grant", 1, "gift", `key:${t.keys.admin.id}`]),
    );
    await assertCreditInvariants(t.tenant.id);
    await assertCreditInvariants(other.tenant.id);
  });

  it("refuses every role below admin with 403 and writes nothing", async () => {
    const fresh = await makeTenantWithKeys();
    for (const role of ["operator", "agent", "viewer"] as const) {
      const res = await invoke("POST", GRANTS, {
        key: fresh.keys[role].key,
        body: { amount: 5, reason: "self-serve" },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.forbidden");
    }
    expect((await invoke("POST", GRANTS, { body: { amount: 5, reason: "x" } })).status).toBe(401);
    const got = await invoke("GET", CREDITS, { key: fresh.keys.viewer.key });
    expect(got.body).toEqual({ tenant_id: fresh.tenant.id, balance: 0, reserved: 0, available: 0 });
    expect((await invoke("GET", LEDGER, { key: fresh.keys.viewer.key })).body).toEqual({ data: [], next_cursor: null });
  });

  it("400 lists every bad field; an unknown tenant is 404", async () => {
    const bad = await invoke("POST", GRANTS, {
      key: t.keys.admin.key,
      body: { amount: 1.00001, reason: "", extra: 1 },
    });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad).sort()).toEqual(["body.amount", "body.extra", "body.reason"]);
    for (const amount of [0, -5, 2e12]) {
      const res = await invoke("POST", GRANTS, { key: t.keys.admin.key, body: { amount, reason: "x" } });
      expect([res.status, fieldsOf(res)]).toEqual([400, ["body.amount"]]);
    }
    const missing = await invoke("POST", GRANTS, {
      key: t.keys.admin.key,
      body: { tenant: "no-such-tenant", amount: 1, reason: "x" },
    });
    expect(missing.status).toBe(404);
    // The new name and the deprecated one naming two tenants: which one was meant is unknown.
    const both = await invoke("POST", GRANTS, {
      key: t.keys.admin.key,
      body: { tenant: other.tenant.slug, tenant_id: t.tenant.slug, amount: 1, reason: "x" },
    });
    expect([both.status, fieldsOf(both)]).toEqual([400, ["body.tenant_id"]]);
  });
});

describe("GET /api/v1/credits", () => {
  it("answers the live figures: unsettled charges and releases count at once", async () => {
    const u = await makeTenantWithKeys();
    await grantCredits(u.tenant.id, 100);
    const { jobId, itemIds } = await insertBareJob(u.tenant.id, { items: 3, creditsPerItem: 4 });
    await asWorker(async () => {
      await Credits.reserve(u.tenant.id, jobId, 12);
      await Credits.charge(u.tenant.id, jobId, itemIds[0] as string, 4);
      await Credits.release(u.tenant.id, jobId, itemIds[1] as string, 4);
    });
    const res = await invoke("GET", CREDITS, { key: u.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ tenant_id: u.tenant.id, balance: 96, reserved: 4, available: 92 });
    await assertCreditInvariants(u.tenant.id);
  });

  it("an admin may name another tenant; a bad query is 400", async () => {
    const res = await invoke("GET", CREDITS, { key: t.keys.admin.key, query: { tenant: other.tenant.slug } });
    expect(res.body.tenant_id).toBe(other.tenant.id);
    const bad = await invoke("GET", CREDITS, { key: t.keys.viewer.key, query: { nope: "1" } });
    expect(bad.status).toBe(400);
  });
});

describe("GET /api/v1/credits/ledger", () => {
  let l: Tenant;
  let jobId: string;
  let all: number[];
  beforeAll(async () => {
    l = await makeTenantWithKeys();
    await grantCredits(l.tenant.id, 50);
    const job = await insertBareJob(l.tenant.id, { items: 3, creditsPerItem: 2 });
    const otherJob = await insertBareJob(l.tenant.id, { items: 1, creditsPerItem: 1 });
    jobId = job.jobId;
    await asWorker(async () => {
      await Credits.reserve(l.tenant.id, jobId, 6);
      await Credits.reserve(l.tenant.id, otherJob.jobId, 1);
      for (const id of job.itemIds) await Credits.charge(l.tenant.id, jobId, id, 2);
    });
    await grantCredits(l.tenant.id, 5);
    const res = await invoke("GET", LEDGER, { key: l.keys.viewer.key, query: { limit: "100" } });
    all = ids(res);
  });

  it("answers the tenant's rows newest first, in wire shape", async () => {
    const res = await invoke("GET", LEDGER, { key: l.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body.data.map((r: any) => r.kind)).toEqual([
      "grant",
      "charge",
      "charge",
      "charge",
      "reserve",
      "reserve",
      "grant",
    ]);
    expect(all).toEqual([...all].sort((a, b) => b - a));
    const charge = res.body.data[1];
    expect(charge).toMatchObject({
      tenant_id: l.tenant.id,
      kind: "charge",
      amount: 2,
      balance_delta: -2,
      reserved_delta: -2,
      job_id: jobId,
      item_ids: null,
      reason: null,
      actor: "system:worker",
    });
    expect(charge.item_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(charge.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    await assertCreditInvariants(l.tenant.id);
  });

  it("pages with next_cursor until every row was seen once", async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await invoke("GET", LEDGER, {
        key: l.keys.viewer.key,
        query: { limit: "2", ...(cursor ? { cursor } : {}) },
      });
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...ids(res));
      cursor = res.body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(all);
    expect(pages).toBe(4);
  });

  it("filters by kind and by job", async () => {
    const charges = await invoke("GET", LEDGER, { key: l.keys.viewer.key, query: { kind: "charge" } });
    expect(charges.body.data.map((r: any) => r.kind)).toEqual(["charge", "charge", "charge"]);
    const job = await invoke("GET", LEDGER, { key: l.keys.viewer.key, query: { job_id: jobId } });
    expect(job.body.data.map((r: any) => r.kind)).toEqual(["charge", "charge", "charge", "reserve"]);
    const both = await invoke("GET", LEDGER, { key: l.keys.viewer.key, query: { job_id: jobId, kind: "reserve" } });
    expect(both.body.data).toHaveLength(1);
    const none = await invoke("GET", LEDGER, { key: l.keys.viewer.key, query: { kind: "refund" } });
    expect(none.body).toEqual({ data: [], next_cursor: null });
  });

  it("refuses a bad kind, job id or cursor with 400", async () => {
    for (const [query, field] of [
      [{ kind: "bonus" }, "query.kind"],
      [{ job_id: "not-a-uuid" }, "query.job_id"],
      [{ cursor: "garbage" }, "query.cursor"],
      [{ cursor: encodeCursor([-1]) }, "query.cursor"],
      [{ cursor: encodeCursor(["1"]) }, "query.cursor"],
      [{ limit: "0" }, "query.limit"],
    ] as const) {
      const res = await invoke("GET", LEDGER, { key: l.keys.viewer.key, query });
      expect([res.status, fieldsOf(res)]).toEqual([400, [field]]);
    }
  });
});
