/** Cross-tenant cases of the credits routes (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { withContext } from "../../../core/context.ts";
import * as Credits from "../../../core/credits/index.ts";
import { invoke } from "../../events/index.ts";
import { assertCreditInvariants, grantCredits, insertBareJob } from "../../factories/credits.ts";
import type { Cases, Fixture } from "./fixture.ts";

/** Naming B with any non-admin key of A is 403 auth.cross_tenant, by slug and by id. */
async function namingBIsRefused({ a, b }: Fixture, path: string) {
  for (const key of [a.keys.viewer.key, a.keys.agent.key, a.keys.operator.key])
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const res = await invoke("GET", path, { key, query: { tenant } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.cross_tenant");
    }
}

/** B has credits, a job reserved and an item charged: rows A must never see. */
async function giveBCredits({ b }: Fixture) {
  await grantCredits(b.tenant.id, 30);
  const { jobId, itemIds } = await insertBareJob(b.tenant.id, { items: 2, creditsPerItem: 5 });
  await withContext({ requestId: "t", correlationId: "t", actor: { type: "system", name: "b-worker" } }, async () => {
    await Credits.reserve(b.tenant.id, jobId, 10);
    await Credits.charge(b.tenant.id, jobId, itemIds[0] as string, 5);
  });
  return jobId;
}

const figures = async (key: string) => (await invoke("GET", "/api/v1/credits", { key })).body;

export const creditCases: Cases = {
  "POST /api/v1/credits/grants": async (t) => {
    const { a, b } = t;
    await giveBCredits(t);
    const bBefore = await figures(b.keys.viewer.key);
    const bLedger = await invoke("GET", "/api/v1/credits/ledger", { key: b.keys.viewer.key, query: { limit: "1000" } });
    // A's operator may not grant, neither to A nor to B.
    for (const body of [
      { amount: 1000, reason: "self" },
      { tenant: b.tenant.id, amount: 1000, reason: "to b" },
      { tenant_id: b.tenant.slug, amount: 1000, reason: "to b" },
    ]) {
      const res = await invoke("POST", "/api/v1/credits/grants", { key: a.keys.operator.key, body });
      expect(res.status).toBe(403);
    }
    // An admin grant to A changes nothing of B.
    const res = await invoke("POST", "/api/v1/credits/grants", {
      key: a.keys.admin.key,
      body: { tenant: a.tenant.slug, amount: 7, reason: "a only" },
    });
    expect(res.status).toBe(201);
    expect(res.body.tenant_id).toBe(a.tenant.id);
    expect(await figures(b.keys.viewer.key)).toEqual(bBefore);
    const bAfter = await invoke("GET", "/api/v1/credits/ledger", { key: b.keys.viewer.key, query: { limit: "1000" } });
    expect(bAfter.body).toEqual(bLedger.body);
    // An Idempotency-Key is the caller's tenant's: A's admin reusing it for B's tenant is A's own key.
    const idem = { "idempotency-key": `ct-grant-${Date.now()}` };
    const first = await invoke("POST", "/api/v1/credits/grants", {
      key: a.keys.admin.key,
      body: { tenant: a.tenant.slug, amount: 3, reason: "a keyed" },
      headers: idem,
    });
    expect(first.status).toBe(201);
    const reused = await invoke("POST", "/api/v1/credits/grants", {
      key: a.keys.admin.key,
      body: { tenant: b.tenant.slug, amount: 3, reason: "a keyed" },
      headers: idem,
    });
    expect([reused.status, reused.body.error?.code]).toEqual([409, "idempotency.key_reused"]);
    expect(reused.text).not.toContain(a.tenant.id);
    expect(await figures(b.keys.viewer.key)).toEqual(bBefore);
    await assertCreditInvariants(a.tenant.id);
    await assertCreditInvariants(b.tenant.id);
  },

  "GET /api/v1/credits": async (t) => {
    const { a, b } = t;
    const aBefore = await figures(a.keys.viewer.key);
    await giveBCredits(t);
    // B's grant, reservation and charge move nothing of A's.
    expect(await figures(a.keys.viewer.key)).toEqual(aBefore);
    for (const key of [a.keys.viewer.key, a.keys.operator.key]) {
      const mine = await invoke("GET", "/api/v1/credits", { key });
      expect(mine.status).toBe(200);
      expect(mine.body.tenant_id).toBe(a.tenant.id);
      expect(JSON.stringify(mine.body)).not.toContain(b.tenant.id);
    }
    await namingBIsRefused(t, "/api/v1/credits");
  },

  "GET /api/v1/credits/ledger": async (t) => {
    const { a, b } = t;
    const bJob = await giveBCredits(t);
    const all = await invoke("GET", "/api/v1/credits/ledger", { key: a.keys.viewer.key, query: { limit: "1000" } });
    expect(all.status).toBe(200);
    expect(all.body.data.every((r: { tenant_id: string }) => r.tenant_id === a.tenant.id)).toBe(true);
    expect(JSON.stringify(all.body)).not.toContain(b.tenant.id);
    // Filtering by B's job finds nothing of it.
    const byJob = await invoke("GET", "/api/v1/credits/ledger", { key: a.keys.viewer.key, query: { job_id: bJob } });
    expect(byJob.body).toEqual({ data: [], next_cursor: null });
    // B's own view does have the rows, so the filter above could have found them.
    const bView = await invoke("GET", "/api/v1/credits/ledger", { key: b.keys.viewer.key, query: { job_id: bJob } });
    expect(bView.body.data.length).toBe(2);
    await namingBIsRefused(t, "/api/v1/credits/ledger");
  },
};
