/** Cross-tenant cases of claiming and item routes: claim, heartbeat, complete (one or many), fail (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { query } from "../../../core/platform/db/index.ts";
import { invoke } from "../../events/index.ts";
import { assertCreditInvariants, grantCredits } from "../../factories/credits.ts";
import type { Cases, Fixture } from "./fixture.ts";

/** An external job of tenant B with one item, and that item claimed by B's worker `b-worker`. */
async function claimedItemOfB({ b, bKey }: Fixture): Promise<{ jobId: string; itemId: string }> {
  await grantCredits(b.tenant.id, 5);
  const job = await invoke("POST", "/api/v1/jobs", {
    key: bKey.key,
    body: { task: "external", items: [{ input: { secret: "b" } }] },
  });
  expect(job.status).toBe(201);
  const claimed = await invoke("POST", `/api/v1/jobs/${job.body.id}/claim`, {
    key: bKey.key,
    body: { worker_id: "b-worker" },
  });
  expect(claimed.body.items).toHaveLength(1);
  return { jobId: job.body.id, itemId: claimed.body.items[0].id };
}

const itemState = async (id: string) =>
  (await query("select status, claimed_by, attempt, result, error from job_items where id = $1", [id])).rows[0];

/** A's agent, using B's worker id, cannot touch B's item; B still can. */
function itemCase(verb: "heartbeat" | "complete" | "fail", body: Record<string, unknown>) {
  return async (t: Fixture) => {
    const { itemId } = await claimedItemOfB(t);
    const before = await itemState(itemId);
    for (const key of [t.a.keys.agent.key, t.a.keys.admin.key]) {
      const res = await invoke("POST", `/api/v1/items/${itemId}/${verb}`, {
        key,
        body: { worker_id: "b-worker", ...body },
      });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("jobs.item_not_found");
      expect(res.text).not.toContain(t.b.tenant.id);
      expect(res.text).not.toContain("secret");
    }
    expect(await itemState(itemId)).toEqual(before);
    const own = await invoke("POST", `/api/v1/items/${itemId}/${verb}`, {
      key: t.bKey.key,
      body: { worker_id: "b-worker", ...body },
    });
    expect(own.status).toBe(200);
    if (verb === "complete") {
      // B's completion repeated word for word: B gets its answer again, A still gets a 404.
      const again = await invoke("POST", `/api/v1/items/${itemId}/complete`, {
        key: t.bKey.key,
        body: { worker_id: "b-worker", ...body },
      });
      expect([again.status, again.body]).toEqual([200, own.body]);
      const fromA = await invoke("POST", `/api/v1/items/${itemId}/complete`, {
        key: t.a.keys.agent.key,
        body: { worker_id: "b-worker", ...body },
      });
      expect([fromA.status, fromA.text.includes(t.b.tenant.id)]).toEqual([404, false]);
    }
    if (verb === "heartbeat")
      await invoke("POST", `/api/v1/items/${itemId}/complete`, { key: t.bKey.key, body: { worker_id: "b-worker" } });
    await assertCreditInvariants(t.b.tenant.id);
  };
}

export const jobItemCases: Cases = {
  "POST /api/v1/jobs/{id}/claim": async (t) => {
    const { a, b, bKey } = t;
    await grantCredits(b.tenant.id, 5);
    const job = await invoke("POST", "/api/v1/jobs", {
      key: bKey.key,
      body: { task: "external", items: [{ input: { secret: "b" } }] },
    });
    for (const key of [a.keys.agent.key, a.keys.admin.key]) {
      const res = await invoke("POST", `/api/v1/jobs/${job.body.id}/claim`, { key, body: { worker_id: "a" } });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("jobs.not_found");
      expect(res.text).not.toContain("secret");
    }
    const { rows } = await query("select status from job_items where job_id = $1", [job.body.id]);
    expect(rows).toEqual([{ status: "pending" }]);
    const own = await invoke("POST", `/api/v1/jobs/${job.body.id}/claim`, { key: bKey.key, body: { worker_id: "b" } });
    expect(own.body.items).toHaveLength(1);
    await invoke("POST", `/api/v1/items/${own.body.items[0].id}/complete`, { key: bKey.key, body: { worker_id: "b" } });
    await assertCreditInvariants(b.tenant.id);
  },
  "POST /api/v1/items/complete": async (t) => {
    const { itemId } = await claimedItemOfB(t);
    const before = await itemState(itemId);
    for (const key of [t.a.keys.agent.key, t.a.keys.admin.key]) {
      const res = await invoke("POST", "/api/v1/items/complete", {
        key,
        body: { worker_id: "b-worker", items: [{ id: itemId, result: { forged: true } }] },
      });
      expect(res.status).toBe(200);
      expect(res.body.completed).toEqual([]);
      expect(res.body.refused).toEqual([
        { id: itemId, error: expect.objectContaining({ code: "jobs.item_not_found" }) },
      ]);
      expect(res.text).not.toContain(t.b.tenant.id);
      expect(res.text).not.toContain("secret");
    }
    expect(await itemState(itemId)).toEqual(before);
    const own = await invoke("POST", "/api/v1/items/complete", {
      key: t.bKey.key,
      body: { worker_id: "b-worker", items: [{ id: itemId, result: { own: true } }] },
    });
    expect(own.body.completed.map((i: { id: string }) => i.id)).toEqual([itemId]);
    // The same batch again from A, word for word as B sent it: still not found for A.
    const replayByA = await invoke("POST", "/api/v1/items/complete", {
      key: t.a.keys.agent.key,
      body: { worker_id: "b-worker", items: [{ id: itemId, result: { own: true } }] },
    });
    expect(replayByA.body.completed).toEqual([]);
    expect(replayByA.body.refused[0].error.code).toBe("jobs.item_not_found");
    await assertCreditInvariants(t.b.tenant.id);
  },
  "POST /api/v1/items/{id}/heartbeat": itemCase("heartbeat", { lease_s: 60 }),
  "POST /api/v1/items/{id}/complete": itemCase("complete", { result: { forged: true } }),
  "POST /api/v1/items/{id}/fail": itemCase("fail", { error: "forged", retryable: false }),
};
