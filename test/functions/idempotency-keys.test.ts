/**
 * `Idempotency-Key` on the creating POSTs that move credits (POST /api/v1/jobs, POST
 * /api/v1/credits/grants), Stripe's semantics, on real Postgres: the same key and body answer the
 * first reply again (status, body, `Idempotent-Replayed`) and do nothing twice, even when sent at
 * once; another body is 409 `idempotency.key_reused`; keys are per tenant; a refused request
 * stores nothing. And a repeated identical item completion answers 200 with the same body.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { invoke } from "../events/index.ts";
import { ledgerOf } from "../factories/credits.ts";
import { checkedKeyedTenants } from "../factories/jobs.ts";
import type { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const tenant = checkedKeyedTenants();
const tag = () => `key-${randomBytes(6).toString("hex")}`;

const createJob = (t: Tenant, body: unknown, key?: string) =>
  invoke("POST", "/api/v1/jobs", {
    key: t.keys.agent.key,
    body,
    headers: key === undefined ? {} : { "idempotency-key": key },
  });
const grant = (t: Tenant, body: unknown, key?: string) =>
  invoke("POST", "/api/v1/credits/grants", {
    key: t.keys.admin.key,
    body,
    headers: key === undefined ? {} : { "idempotency-key": key },
  });
const jobsOf = async (t: Tenant) =>
  (await query<{ n: number }>("select count(*)::int as n from jobs where tenant_id = $1", [t.tenant.id])).rows[0]?.n;
const figures = async (t: Tenant) => (await invoke("GET", "/api/v1/credits", { key: t.keys.viewer.key })).body;
const external = (n: number) => ({ task: "external", items: Array.from({ length: n }, (_, i) => ({ input: { i } })) });

describe("Idempotency-Key on POST /api/v1/jobs", () => {
  it("the same key and body answer the first 201 again and spawn nothing more; another body is 409", async () => {
    const t = await tenant(100);
    const key = tag();
    const first = await createJob(t, external(3), key);
    expect(first.status).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const again = await createJob(t, external(3), key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers).toMatchObject({ location: `/api/v1/jobs/${first.body.id}`, "idempotent-replayed": "true" });
    expect(await jobsOf(t)).toBe(1);
    expect(await figures(t)).toMatchObject({ reserved: 3, available: 97 });

    const other = await createJob(t, external(4), key);
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: "idempotency.key_reused", details: { idempotency_key: key } });
    expect(await jobsOf(t)).toBe(1);
    // No key: every request spawns.
    await createJob(t, external(3));
    expect(await jobsOf(t)).toBe(2);
  });

  it("ten requests with one key at once spawn one job, and all ten answer it", async () => {
    const t = await tenant(100);
    const key = tag();
    const replies = await Promise.all(Array.from({ length: 10 }, () => createJob(t, external(2), key)));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(await jobsOf(t)).toBe(1);
    expect((await figures(t)).reserved).toBe(2);
  });

  it("keys are per tenant: B's key never answers A's request", async () => {
    const a = await tenant(100);
    const b = await tenant(100);
    const key = tag();
    const fromB = await createJob(b, external(1), key);
    const fromA = await createJob(a, external(1), key);
    expect([fromA.status, fromB.status]).toEqual([201, 201]);
    expect(fromA.body.id).not.toBe(fromB.body.id);
    expect(fromA.body.tenant_id).toBe(a.tenant.id);
    expect(fromA.headers["idempotent-replayed"]).toBeUndefined();
    // And A's other body under the same key is A's own conflict, not B's.
    expect((await createJob(a, external(2), key)).status).toBe(409);
    expect(await createJob(b, external(1), key)).toMatchObject({ status: 201, body: { id: fromB.body.id } });
  });

  it("a refused spawn (402) stores nothing: after a top-up the same key spawns; a bad key is a 400", async () => {
    const t = await tenant(1);
    const key = tag();
    const refused = await createJob(t, external(5), key);
    expect([refused.status, refused.body.error.code]).toEqual([402, "credits.insufficient"]);
    await grant(t, { tenant_id: t.tenant.id, amount: 10, reason: "top-up" });
    expect((await createJob(t, external(5), key)).status).toBe(201);
    expect(await jobsOf(t)).toBe(1);

    const bad = await createJob(t, external(1), "x".repeat(256));
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields).toEqual([{ field: "headers.idempotency-key", message: expect.any(String) }]);
  });
});

describe("Idempotency-Key on POST /api/v1/credits/grants", () => {
  it("a retried grant credits once and answers the first figures; another body is 409; keys are per tenant", async () => {
    const t = await tenant(0);
    const other = await tenant(0);
    const key = tag();
    const body = { tenant_id: t.tenant.id, amount: 50, reason: "december" };
    const first = await grant(t, body, key);
    expect([first.status, first.body.balance]).toEqual([201, 50]);
    const again = await grant(t, body, key);
    expect([again.status, again.headers["idempotent-replayed"]]).toEqual([201, "true"]);
    expect(again.body).toEqual(first.body);
    expect((await figures(t)).balance).toBe(50);
    const conflict = await grant(t, { ...body, amount: 60 }, key);
    expect([conflict.status, conflict.body.error.code]).toEqual([409, "idempotency.key_reused"]);
    expect((await figures(t)).balance).toBe(50);
    // The other tenant's admin, same key and amount to itself: its own grant.
    const theirs = await grant(other, { tenant_id: other.tenant.id, amount: 50, reason: "december" }, key);
    expect([theirs.status, theirs.body.tenant_id]).toEqual([201, other.tenant.id]);
    expect((await figures(t)).balance).toBe(50);
    const { rows } = await query(
      "select count(*)::int as n from credit_ledger where tenant_id = $1 and kind = 'grant' and reason = 'december'",
      [t.tenant.id],
    );
    expect(rows).toEqual([{ n: 1 }]);
  });
});

describe("a repeated item completion", () => {
  it("the same result answers 200 with the same body, charged once; another result stays 409", async () => {
    const t = await tenant(100);
    const job = (await createJob(t, { ...external(3), credits_per_item: 2 })).body;
    const claim = await invoke("POST", `/api/v1/jobs/${job.id}/claim`, {
      key: t.keys.agent.key,
      body: { worker_id: "w", max_items: 3 },
    });
    const [a, b, c] = claim.body.items as { id: string }[];
    if (!a || !b || !c) throw new Error("three items expected");
    const complete = (id: string, result: unknown) =>
      invoke("POST", `/api/v1/items/${id}/complete`, { key: t.keys.agent.key, body: { worker_id: "w", result } });
    const first = await complete(a.id, { ok: 1, words: ["x"] });
    expect(first.status).toBe(200);
    const again = await complete(a.id, { words: ["x"], ok: 1 });
    expect([again.status, again.body]).toEqual([200, first.body]);
    const other = await complete(a.id, { ok: 2 });
    expect([other.status, other.body.error.code]).toEqual([409, "jobs.lease_lost"]);
    // Another worker sending the same result did not complete it: refused.
    const stranger = await invoke("POST", `/api/v1/items/${a.id}/complete`, {
      key: t.keys.agent.key,
      body: { worker_id: "w2", result: { ok: 1, words: ["x"] } },
    });
    expect(stranger.status).toBe(409);

    const many = (items: { id: string; result: unknown }[]) =>
      invoke("POST", "/api/v1/items/complete", { key: t.keys.agent.key, body: { worker_id: "w", items } });
    const batch = await many([
      { id: b.id, result: "b" },
      { id: c.id, result: "c" },
    ]);
    const batchAgain = await many([
      { id: b.id, result: "b" },
      { id: c.id, result: "changed" },
    ]);
    expect(batchAgain.body.completed).toEqual([batch.body.completed[0]]);
    expect(batchAgain.body.refused.map((r: { id: string; error: { code: string } }) => [r.id, r.error.code])).toEqual([
      [c.id, "jobs.lease_lost"],
    ]);
    expect(await ledgerOf(job.id)).toMatchObject({ charge: { n: 3, amount: 6 } });
  });
});
