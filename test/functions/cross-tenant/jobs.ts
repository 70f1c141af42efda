/** Cross-tenant cases of the job routes: spawn, simulate, list, get, items, cancel (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { query } from "../../../core/platform/db/index.ts";
import { invoke } from "../../events/index.ts";
import { assertCreditInvariants, grantCredits } from "../../factories/credits.ts";
import type { Cases, Fixture } from "./fixture.ts";

/** Item inputs with a marker no id can contain (a job id once held "b-0" and failed the check). */
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ input: { secret: `secret-of-b-${i}` } }));

/** A running external job of tenant B (B granted what it costs). */
async function jobOfB({ b, bKey }: Fixture, n = 2): Promise<string> {
  await grantCredits(b.tenant.id, n);
  const res = await invoke("POST", "/api/v1/jobs", { key: bKey.key, body: { task: "external", items: items(n) } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function balanceOf(tenantId: string) {
  const { rows } = await query<{ balance: number; reserved: number }>(
    "select balance::float8 as balance, reserved::float8 as reserved from credit_balances where tenant_id = $1",
    [tenantId],
  );
  return rows[0] ?? { balance: 0, reserved: 0 };
}

/** A's keys get 404 for B's job (nothing of it in the reply), 403 naming B's tenant; B's own key 200. */
async function hiddenFromA(t: Fixture, path: string): Promise<void> {
  const { a, b } = t;
  for (const key of [a.keys.viewer.key, a.keys.agent.key, a.keys.operator.key]) {
    const res = await invoke("GET", path, { key });
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(b.tenant.id);
    expect(res.text).not.toContain("secret-of-b");
  }
  for (const tenant of [b.tenant.slug, b.tenant.id]) {
    const named = await invoke("GET", path, { key: a.keys.viewer.key, query: { tenant } });
    expect(named.status).toBe(403);
    expect(named.body.error.code).toBe("auth.cross_tenant");
  }
  expect((await invoke("GET", path, { key: b.keys.viewer.key })).status).toBe(200);
}

export const jobCases: Cases = {
  // A job is always the key's tenant's, paid from its credits: the body cannot name another.
  "POST /api/v1/jobs": async ({ a, b }) => {
    await grantCredits(a.tenant.id, 10);
    const bBefore = await balanceOf(b.tenant.id);
    const forged = await invoke("POST", "/api/v1/jobs", {
      key: a.keys.agent.key,
      body: { task: "external", items: items(1), tenant: b.tenant.id },
    });
    expect(forged.status).toBe(400);
    const res = await invoke("POST", "/api/v1/jobs", {
      key: a.keys.agent.key,
      body: { task: "external", items: items(3) },
    });
    expect(res.status).toBe(201);
    expect(res.body.tenant_id).toBe(a.tenant.id);
    expect(await balanceOf(b.tenant.id)).toEqual(bBefore);
    expect((await invoke("GET", `/api/v1/jobs/${res.body.id}`, { key: b.keys.viewer.key })).status).toBe(404);
    // Idempotency keys are per tenant: B's key never replays A's job, nor conflicts with it.
    const idem = { "idempotency-key": `ct-${res.body.id}` };
    const aKeyed = await invoke("POST", "/api/v1/jobs", {
      key: a.keys.agent.key,
      body: { task: "external", items: items(1) },
      headers: idem,
    });
    await grantCredits(b.tenant.id, 5);
    const bKeyed = await invoke("POST", "/api/v1/jobs", {
      key: b.keys.agent.key,
      body: { task: "external", items: items(2) },
      headers: idem,
    });
    expect([aKeyed.status, bKeyed.status]).toEqual([201, 201]);
    expect(bKeyed.body.tenant_id).toBe(b.tenant.id);
    expect(bKeyed.headers["idempotent-replayed"]).toBeUndefined();
    expect(bKeyed.text).not.toContain(a.tenant.id);
    await assertCreditInvariants(a.tenant.id);
    await assertCreditInvariants(b.tenant.id);
  },

  // A's simulation reads A's credits and A's history only.
  "POST /api/v1/jobs/simulate": async (t) => {
    const { a, b, bKey } = t;
    const id = await jobOfB(t, 1);
    const claimed = await invoke("POST", `/api/v1/jobs/${id}/claim`, { key: bKey.key, body: { worker_id: "b-w" } });
    const itemId = claimed.body.items[0].id;
    await invoke("POST", `/api/v1/items/${itemId}/complete`, { key: bKey.key, body: { worker_id: "b-w" } });
    await grantCredits(b.tenant.id, 1000);
    const own = await invoke("POST", "/api/v1/jobs/simulate", {
      key: a.keys.agent.key,
      body: { task: "external", items: items(1) },
    });
    const { rows } = await query<{ available: number }>(
      "select (balance - reserved)::float8 as available from credit_balances where tenant_id = $1",
      [a.tenant.id],
    );
    expect(own.status).toBe(200);
    expect(own.body.available_credits).toBe(rows[0]?.available ?? 0);
    expect(own.body.duration_basis).toBe("default");
    const bSim = await invoke("POST", "/api/v1/jobs/simulate", {
      key: bKey.key,
      body: { task: "external", items: items(1) },
    });
    expect(bSim.body.duration_basis).toBe("history");
    expect(bSim.body.available_credits).not.toBe(own.body.available_credits);
  },

  "GET /api/v1/jobs": async (t) => {
    const { a, b } = t;
    const id = await jobOfB(t);
    const res = await invoke("GET", "/api/v1/jobs", { key: a.keys.viewer.key, query: { limit: "1000" } });
    expect(res.status).toBe(200);
    expect(res.body.data.map((j: { id: string }) => j.id)).not.toContain(id);
    expect(res.text).not.toContain(b.tenant.id);
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const named = await invoke("GET", "/api/v1/jobs", { key: a.keys.viewer.key, query: { tenant } });
      expect(named.status).toBe(403);
      expect(named.body.error.code).toBe("auth.cross_tenant");
    }
    const theirs = await invoke("GET", "/api/v1/jobs", { key: b.keys.viewer.key, query: { limit: "1000" } });
    expect(theirs.body.data.map((j: { id: string }) => j.id)).toContain(id);
  },

  "GET /api/v1/jobs/{id}": async (t) => {
    await hiddenFromA(t, `/api/v1/jobs/${await jobOfB(t)}`);
  },

  "GET /api/v1/jobs/{id}/items": async (t) => {
    await hiddenFromA(t, `/api/v1/jobs/${await jobOfB(t)}/items`);
  },

  // A cannot cancel B's job: 404, and nothing of B's changes (no cancellation, no refund).
  "POST /api/v1/jobs/{id}/cancel": async (t) => {
    const { a, b, bKey } = t;
    const id = await jobOfB(t);
    const before = await balanceOf(b.tenant.id);
    for (const key of [a.keys.agent.key, a.keys.operator.key]) {
      const res = await invoke("POST", `/api/v1/jobs/${id}/cancel`, { key, body: { reason: "not mine" } });
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(b.tenant.id);
    }
    const { rows } = await query<{ status: string; cancelled: number }>(
      `select status, (select count(*)::int from job_cancellations where job_id = $1) as cancelled
       from jobs where id = $1`,
      [id],
    );
    expect(rows[0]).toEqual({ status: "running", cancelled: 0 });
    expect(await balanceOf(b.tenant.id)).toEqual(before);
    expect((await invoke("POST", `/api/v1/jobs/${id}/cancel`, { key: bKey.key })).status).toBe(200);
    await assertCreditInvariants(b.tenant.id);
  },
};
