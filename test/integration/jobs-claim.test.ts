/**
 * Claiming and working on items, on real Postgres: SKIP LOCKED claims under 50 concurrent
 * workers, leases (heartbeat, expiry, the sweeper, a dead worker's late complete), retryable and
 * final failures, parallelism, and failures racing a cancel. The credits invariants are checked
 * after every scenario.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as claimSql from "../../core/jobs/claim.sql.ts";
import { claimByIds } from "../../core/jobs/claim.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { JobNotRunningError } from "../../core/jobs/index.ts";
import { clock } from "../../core/platform/clock.ts";
import { query, withTx } from "../../core/platform/db/index.ts";
import { ledgerOf } from "../factories/credits.ts";
import { asKey as as, checkedTenants, jobStatus, spawnBody, type Who } from "../factories/jobs.ts";
import { caught } from "../setup/errors.ts";

/** A tenant with an agent key and credits, whose invariants are checked after the test. */
const tenant = checkedTenants();
const asSystem = <T>(fn: () => Promise<T>) =>
  withContext(
    { requestId: randomUUID(), correlationId: "sweep", actor: { type: "system", name: "cron:JobSweep" } },
    fn,
  );

const spawn = async (w: Who, over: Parameters<typeof spawnBody>[0] = {}): Promise<string> =>
  (await as(w, () => Jobs.spawn(spawnBody({ parallelism: 1000, ...over })))).id;

const claim = (w: Who, jobId: string, worker: string, max = 1, lease_s?: number) =>
  as(w, () => Jobs.claim(jobId, { worker_id: worker, max_items: max, lease_s }));
const complete = (w: Who, itemId: string, worker: string) =>
  as(w, () => Jobs.complete(itemId, { worker_id: worker, result: { by: worker } }));
const fail = (w: Who, itemId: string, worker: string, retryable: boolean) =>
  as(w, () => Jobs.fail(itemId, { worker_id: worker, error: "boom", retryable }));

const itemRow = async (itemId: string) =>
  (
    await query<{ status: string; attempt: number; claimed_by: string | null; error: unknown }>(
      "select status, attempt, claimed_by, error from job_items where id = $1",
      [itemId],
    )
  ).rows[0];

describe("50 concurrent workers over 1000 items", () => {
  it("finish every item exactly once, never held by two at once, with exact credits", async () => {
    const w = await tenant(5000);
    const jobId = await spawn(w, { n: 1000, credits_per_item: 2.5 });
    // Per item: every [claimed, completed] interval a worker saw, with the worker.
    const held = new Map<string, { worker: string; from: number; to: number }[]>();
    const worker = async (name: string) => {
      for (;;) {
        const from = performance.now();
        // Once the last item is done the job completes, and claims are refused (409).
        const { items } = await claim(w, jobId, name, 1 + Math.floor(Math.random() * 5)).catch((e: unknown) => {
          if (e instanceof JobNotRunningError) return { items: [] };
          throw e;
        });
        if (items.length === 0) return;
        for (const item of items) {
          const done = await complete(w, item.id, name);
          expect(done).toMatchObject({ status: "done", claimed_by: name, result: { by: name } });
          const list = held.get(item.id) ?? [];
          list.push({ worker: name, from, to: performance.now() });
          held.set(item.id, list);
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => worker(`w-${i}`)));

    expect(held.size).toBe(1000);
    // No lease expired, so each item was claimed once; and no two holds of an item overlap.
    const twice = [...held.values()].filter((h) => h.length !== 1);
    expect(twice).toEqual([]);
    for (const holds of held.values()) {
      const sorted = [...holds].sort((a, b) => a.from - b.from);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]?.from).toBeGreaterThanOrEqual(sorted[i - 1]?.to ?? 0);
    }
    const { rows } = await query<{ status: string; attempt: number; n: number }>(
      "select status, attempt, count(*)::int as n from job_items where job_id = $1 group by status, attempt",
      [jobId],
    );
    expect(rows).toEqual([{ status: "done", attempt: 1, n: 1000 }]);
    expect(await ledgerOf(jobId)).toEqual({ reserve: { n: 1, amount: 2500 }, charge: { n: 1000, amount: 2500 } });
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
    const { rows: bal } = await query<{ balance: number; reserved: number }>(
      "select balance::float8 as balance, reserved::float8 as reserved from credit_balances where tenant_id = $1",
      [w.tenantId],
    );
    expect(bal[0]).toEqual({ balance: 2500, reserved: 0 });
  }, 120_000);
});

describe("claim", () => {
  it("gives items in order with a lease, keeps parallelism, and refuses jobs it must not claim from", async () => {
    const w = await tenant(100);
    const other = await tenant(100);
    const jobId = await spawn(w, { n: 5, parallelism: 3, item_timeout_s: 30 });
    const before = clock().nowMs();
    const first = await claim(w, jobId, "a", 10);
    expect(first.items.map((i) => i.input)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    for (const i of first.items) {
      expect(i.attempt).toBe(1);
      const lease = Date.parse(i.lease_until) - before;
      expect(lease).toBeGreaterThanOrEqual(30_000);
      expect(lease).toBeLessThan(40_000);
    }
    // The job's parallelism (3) is used up: nothing more until one finishes.
    expect((await claim(w, jobId, "b", 10)).items).toEqual([]);
    await complete(w, first.items[0]?.id as string, "a");
    const byB = await claim(w, jobId, "b", 10, 5);
    expect(byB.items.map((i) => i.input)).toEqual([{ n: 3 }]);

    // Another tenant's job is not found; a skill job's items are not for agents.
    expect((await caught(claim(other, jobId, "x"))).code).toBe("jobs.not_found");
    const skillJob = await spawn(w, { task: "kv_store", n: 1, input: () => ({ op: "get", key: "k" }) });
    const e = await caught(claim(w, skillJob, "x"));
    expect([e.status, e.code]).toEqual([409, "jobs.not_external"]);

    // Once cancelled, the job accepts no claim; its items in flight may still finish.
    await as(w, () => Jobs.cancel(jobId, {}));
    const refused = await caught(claim(w, jobId, "c"));
    expect([refused.status, refused.code]).toEqual([409, "jobs.not_running"]);
    for (const i of first.items.slice(1)) await complete(w, i.id, "a");
    // Left claimed, its lease would end during a later test and count in that test's sweep.
    for (const i of byB.items) await complete(w, i.id, "b");
    await as(w, () => Jobs.cancel(skillJob, {}));
  });

  it("commits without waiting for its WAL flush, in its own transaction only; never inside withTx", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 2 });
    const [second] = (await query<{ id: string }>("select id from job_items where job_id = $1 and idx = 1", [jobId]))
      .rows;
    const c = new pg.Client({ connectionString: config().databaseUrl });
    await c.connect();
    const setting = async () => (await c.query("select current_setting('synchronous_commit') as s")).rows[0].s;
    try {
      for (const [name, text, params] of [
        ["claimPending", claimSql.claimPending.text, [jobId, w.tenantId, 1, "raw-a", clock().now(), 60, "key:raw"]],
        ["claimByIds", claimSql.claimByIds.text, [[second?.id], [jobId], ["sqs:raw-b"], clock().now()]],
      ] as const) {
        await c.query("begin");
        expect((await c.query(text, [...params])).rows, name).toHaveLength(1);
        // The claim turned it off for its own transaction...
        expect(await setting(), name).toBe("off");
        await c.query("commit");
        // ...and for nothing after it: the connection's next statement commits synchronously.
        expect(await setting(), name).toBe("on");
      }
    } finally {
      await c.end();
    }
    // Inside a transaction it refuses to run (withTx reports it as an internal error, the cause kept).
    const inTx = await caught(as(w, () => withTx(() => Jobs.claim(jobId, { worker_id: "x", max_items: 1 }))));
    expect(String(inTx.cause)).toContain("a claim commits on its own");
    await as(w, () => Jobs.cancel(jobId, {}));
  });

  it("walks job_items_pending_idx with SKIP LOCKED", async () => {
    const w = await tenant(10_000);
    const jobId = await spawn(w, { n: 5000 });
    await query("analyze job_items");
    // EXPLAIN without ANALYZE plans the statement and runs nothing.
    const { rows } = await query<{ "QUERY PLAN": string }>(`explain ${claimSql.claimPending.text}`, [
      jobId,
      w.tenantId,
      5,
      "w",
      new Date(),
      30,
      "key:w",
    ]);
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toContain("job_items_pending_idx");
    expect(plan).toContain("LockRows");
    await as(w, () => Jobs.cancel(jobId, {}));
  });
});

describe("leases", () => {
  it("a claim takes over an item whose lease ended at once, counting an attempt; no sweep needed", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 1, credits_per_item: 2 });
    const [item] = (await claim(w, jobId, "dead", 1, 1)).items;
    if (!item) throw new Error("no item claimed");
    // A live lease is not taken.
    expect((await claim(w, jobId, "alive", 5)).items).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    const [again] = (await claim(w, jobId, "alive", 5)).items;
    expect(again).toMatchObject({ id: item.id, attempt: 2 });
    expect(await itemRow(item.id)).toMatchObject({
      status: "claimed",
      claimed_by: "alive",
      error: { code: "jobs.lease_expired" },
    });
    const late = await caught(complete(w, item.id, "dead"));
    expect([late.status, late.code]).toEqual([409, "jobs.lease_lost"]);
    await complete(w, item.id, "alive");
    expect(await ledgerOf(jobId)).toEqual({ reserve: { n: 1, amount: 2 }, charge: { n: 1, amount: 2 } });
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
  });

  it("an ended lease with no attempt left is not taken: the sweeper fails it", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 1, max_attempts: 1 });
    const [item] = (await claim(w, jobId, "dead", 1, 1)).items;
    if (!item) throw new Error("no item claimed");
    await new Promise((r) => setTimeout(r, 1100));
    expect((await claim(w, jobId, "alive", 5)).items).toEqual([]);
    expect(await asSystem(() => Jobs.sweep())).toMatchObject({ leasesExpired: 1 });
    expect(await itemRow(item.id)).toMatchObject({ status: "failed" });
  });

  it("the SQS worker's claim takes over an ended lease too (another message of the item), not a live one", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { task: "kv_store", n: 1, input: () => ({ op: "get", key: "k" }), item_timeout_s: 1 });
    const [row] = (await query<{ id: string }>("select id from job_items where job_id = $1", [jobId])).rows;
    const itemId = row?.id as string;
    const msg = (messageId: string) => ({ messageId, body: { v: 1 as const, tenantId: w.tenantId, jobId, itemId } });
    expect((await claimByIds([msg("m1")])).claimed).toHaveLength(1);
    expect((await claimByIds([msg("m2")])).claimed).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    const { claimed } = await claimByIds([msg("m3")]);
    expect(claimed.map((c) => [c.id, c.claimed_by])).toEqual([[itemId, "sqs:m3"]]);
    expect(await itemRow(itemId)).toMatchObject({
      status: "claimed",
      attempt: 2,
      error: { code: "jobs.lease_expired" },
    });
    await as(w, () => Jobs.cancel(jobId, {}));
    await as(w, () => Jobs.fail(itemId, { worker_id: "sqs:m3", error: "stop", retryable: false }));
  });

  it("a worker killed mid-item: the sweeper frees it, another finishes it, the late complete is refused, charged once", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 1, credits_per_item: 3 });
    const [item] = (await claim(w, jobId, "dead", 1, 1)).items;
    if (!item) throw new Error("no item claimed");
    // Before the lease ends the sweeper leaves it alone; the holder may heartbeat, others may not.
    expect((await asSystem(() => Jobs.sweep())).leasesExpired).toBe(0);
    expect((await caught(as(w, () => Jobs.heartbeat(item.id, { worker_id: "other" })))).code).toBe("jobs.lease_lost");
    await new Promise((r) => setTimeout(r, 1100));
    expect((await caught(as(w, () => Jobs.heartbeat(item.id, { worker_id: "dead" })))).code).toBe("jobs.lease_lost");

    expect(await asSystem(() => Jobs.sweep())).toMatchObject({ leasesExpired: 1, finalised: 0 });
    expect(await itemRow(item.id)).toMatchObject({ status: "pending", attempt: 1, claimed_by: null });
    const [again] = (await claim(w, jobId, "alive")).items;
    expect(again).toMatchObject({ id: item.id, attempt: 2 });
    await complete(w, item.id, "alive");

    const late = await caught(complete(w, item.id, "dead"));
    expect([late.status, late.code]).toEqual([409, "jobs.lease_lost"]);
    expect(await itemRow(item.id)).toMatchObject({ status: "done", claimed_by: "alive" });
    expect(await ledgerOf(jobId)).toEqual({ reserve: { n: 1, amount: 3 }, charge: { n: 1, amount: 3 } });
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
  });

  it("a heartbeat keeps the item from the sweeper; an expired lease with no attempt left fails and is released", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 2, max_attempts: 1 });
    const [kept, lost] = (await claim(w, jobId, "w", 2, 1)).items;
    if (!kept || !lost) throw new Error("two items expected");
    const beat = await as(w, () => Jobs.heartbeat(kept.id, { worker_id: "w", lease_s: 30 }));
    expect(Date.parse(beat.lease_until as string)).toBeGreaterThan(Date.now() + 25_000);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await asSystem(() => Jobs.sweep())).toMatchObject({ leasesExpired: 1 });
    expect(await itemRow(lost.id)).toMatchObject({ status: "failed", error: { code: "jobs.lease_expired" } });
    await complete(w, kept.id, "w");
    expect(await ledgerOf(jobId)).toEqual({
      reserve: { n: 1, amount: 2 },
      charge: { n: 1, amount: 1 },
      release: { n: 1, amount: 1 },
    });
    expect(await jobStatus(jobId)).toEqual({ status: "failed", settled: true });
  });

  it("refuses another tenant's item with 404 on heartbeat, complete and fail", async () => {
    const w = await tenant(10);
    const other = await tenant(10);
    const jobId = await spawn(w, { n: 1 });
    const [item] = (await claim(w, jobId, "w")).items;
    if (!item) throw new Error("no item claimed");
    for (const call of [
      () => Jobs.heartbeat(item.id, { worker_id: "w" }),
      () => Jobs.complete(item.id, { worker_id: "w", result: null }),
      () => Jobs.fail(item.id, { worker_id: "w", error: "x", retryable: true }),
    ]) {
      const e = await caught(as(other, call));
      expect([e.status, e.code]).toEqual([404, "jobs.item_not_found"]);
    }
    expect(await itemRow(item.id)).toMatchObject({ status: "claimed", claimed_by: "w" });
    await complete(w, item.id, "w");
  });
});

describe("failures", () => {
  it("a retryable failure goes back to pending with its error, then succeeds; charged once", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 1, max_attempts: 2 });
    const [item] = (await claim(w, jobId, "w")).items;
    if (!item) throw new Error("no item claimed");
    const failed = await fail(w, item.id, "w", true);
    expect(failed).toMatchObject({
      status: "pending",
      attempt: 1,
      claimed_by: null,
      lease_until: null,
      error: { message: "boom" },
    });
    expect((await caught(complete(w, item.id, "w"))).code).toBe("jobs.lease_lost");
    const [again] = (await claim(w, jobId, "w2")).items;
    expect(again?.attempt).toBe(2);
    await complete(w, item.id, "w2");
    expect(await ledgerOf(jobId)).toEqual({ reserve: { n: 1, amount: 1 }, charge: { n: 1, amount: 1 } });
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
  });

  it("max_attempts exhausted, or a final failure: failed and released; the job fails", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 2, max_attempts: 2, credits_per_item: 2 });
    const [a, b] = (await claim(w, jobId, "w", 2)).items;
    if (!a || !b) throw new Error("two items expected");
    expect((await fail(w, a.id, "w", true)).status).toBe("pending");
    expect((await fail(w, b.id, "w", false)).status).toBe("failed");
    const [a2] = (await claim(w, jobId, "w")).items;
    expect(a2).toMatchObject({ id: a.id, attempt: 2 });
    expect(await fail(w, a.id, "w", true)).toMatchObject({ status: "failed", attempt: 2 });
    expect(await ledgerOf(jobId)).toEqual({ reserve: { n: 1, amount: 4 }, release: { n: 2, amount: 4 } });
    expect(await jobStatus(jobId)).toEqual({ status: "failed", settled: true });
  });

  it("a failure on a cancelled job never returns to pending", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 3 });
    const [a, b] = (await claim(w, jobId, "w", 2)).items;
    if (!a || !b) throw new Error("two items expected");
    const cancelled = await as(w, () => Jobs.cancel(jobId, {}));
    expect(cancelled).toMatchObject({ cancelled_items: 1, in_flight_items: 2 });
    expect(await fail(w, a.id, "w", true)).toMatchObject({ status: "failed" });
    expect(await itemRow(a.id)).toMatchObject({ status: "failed" });
    await complete(w, b.id, "w");
    expect(await ledgerOf(jobId)).toEqual({
      reserve: { n: 1, amount: 3 },
      refund: { n: 1, amount: 1 },
      release: { n: 1, amount: 1 },
      charge: { n: 1, amount: 1 },
    });
    expect(await jobStatus(jobId)).toEqual({ status: "cancelled", settled: true });
  });

  it("a retryable failure waits for a cancel that holds the job row, then reads it cancelled and fails", async () => {
    const w = await tenant(10);
    const jobId = await spawn(w, { n: 1 });
    const [item] = (await claim(w, jobId, "w")).items;
    if (!item) throw new Error("no item claimed");
    // A cancel in progress elsewhere: the job row locked, its status changed, not yet committed.
    const other = new pg.Client({ connectionString: config().databaseUrl });
    await other.connect();
    try {
      await other.query("begin");
      await other.query("select id from jobs where id = $1 for update", [jobId]);
      await other.query("update jobs set status = 'cancelled' where id = $1", [jobId]);
      const failing = fail(w, item.id, "w", true);
      await new Promise((r) => setTimeout(r, 300));
      expect(await itemRow(item.id)).toMatchObject({ status: "claimed" }); // waiting on the job row
      await other.query("commit");
      expect(await failing).toMatchObject({ status: "failed" });
    } finally {
      await other.end();
    }
    expect(await ledgerOf(jobId)).toEqual({ reserve: { n: 1, amount: 1 }, release: { n: 1, amount: 1 } });
    expect(await jobStatus(jobId)).toEqual({ status: "cancelled", settled: true });
  });

  it("retryable failures racing a cancel: every item ends failed or cancelled, none pending", async () => {
    const w = await tenant(100);
    const jobId = await spawn(w, { n: 40 });
    const { items } = await claim(w, jobId, "w", 30);
    await Promise.all([...items.map((i) => fail(w, i.id, "w", true)), as(w, () => Jobs.cancel(jobId, {}))]);
    // Items the failures put back before the cancel were cancelled by it; later ones failed.
    const { rows } = await query<{ status: string }>(
      "select distinct status from job_items where job_id = $1 and status not in ('cancelled', 'failed')",
      [jobId],
    );
    expect(rows).toEqual([]);
    await asSystem(() => Jobs.sweep());
    expect(await jobStatus(jobId)).toEqual({ status: "cancelled", settled: true });
  });
});

describe("the sweeper", () => {
  it("re-sends pending items of skill jobs whose message looks lost, and never external ones", async () => {
    const w = await tenant(10);
    const skillJob = await spawn(w, { task: "kv_store", n: 3, input: (i) => ({ op: "get", key: `k${i}` }) });
    const external = await spawn(w, { n: 2 });
    // Messages sent a minute ago are still in flight: left alone.
    await query("update job_items set enqueued_at = enqueued_at - interval '1 minute' where job_id = $1", [skillJob]);
    expect((await asSystem(() => Jobs.sweep())).resent).toBe(0);
    // Ten minutes (more than twice item_timeout_s and 5 min): presumed lost, sent again and stamped.
    await query("update job_items set enqueued_at = enqueued_at - interval '10 minutes' where job_id = $1", [skillJob]);
    await query("update jobs set created_at = created_at - interval '1 hour' where id = $1", [external]);
    expect((await asSystem(() => Jobs.sweep())).resent).toBe(3);
    const { rows } = await query<{ fresh: boolean }>(
      "select enqueued_at > now() - interval '1 minute' as fresh from job_items where job_id = $1",
      [skillJob],
    );
    expect(rows.every((r) => r.fresh)).toBe(true);
    expect((await asSystem(() => Jobs.sweep())).resent).toBe(0);
    for (const id of [skillJob, external]) await as(w, () => Jobs.cancel(id, {}));
  });

  it("finalises an unsettled job with no open item, once", async () => {
    const w = await tenant(0);
    const jobId = await spawn(w, { n: 1, credits_per_item: 0 });
    // Earlier tests leave items in flight whose 60 s leases may have ended by now on a loaded
    // machine (their jobs are then due too): let the sweeper take those first, so the count
    // below is this job's alone.
    await asSystem(() => Jobs.sweep());
    // Its last item finished but the finalisation after commit never ran (the worker died).
    await query("update job_items set status = 'failed', finished_at = now() where job_id = $1", [jobId]);
    expect(await jobStatus(jobId)).toEqual({ status: "running", settled: false });
    expect((await asSystem(() => Jobs.sweep())).finalised).toBe(1);
    expect(await jobStatus(jobId)).toEqual({ status: "failed", settled: true });
    expect((await asSystem(() => Jobs.sweep())).finalised).toBe(0);
  });
});
