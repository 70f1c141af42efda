/**
 * A job's lifecycle on real Postgres and SQS: spawn (reserve, items in one statement, history,
 * fan-out), the read side, simulate (writes nothing), cancel (refund once, items in flight
 * finish) and finalisation (settles once). The credits invariants are checked after every scenario.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../core/context.ts";
import * as Credits from "../../core/credits/index.ts";
import { InsufficientCreditsError } from "../../core/credits/index.ts";
import type { AppError } from "../../core/errors.ts";
import type { ItemRecord, JobRecord } from "../../core/jobs/index.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { assertCreditInvariants, ledgerOf } from "../factories/credits.ts";
import { asKey as as, spawnBody as body, jobsTenant as tenantWith, type Who } from "../factories/jobs.ts";
import { withConfig } from "../setup/config-override.ts";
import { caught } from "../setup/errors.ts";
import { closedPort } from "../setup/net.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

const kvIncr = (i: number) => ({ op: "incr", key: `k-${i}` });

const fieldsOf = (e: AppError) => (e.details as { fields: { field: string }[] }).fields.map((f) => f.field);

/** Rows a tenant has in every table a spawn writes to. */
async function footprint(tenantId: string) {
  const { rows } = await query<Record<string, number>>(
    `select (select count(*)::int from jobs where tenant_id = $1) as jobs,
       (select count(*)::int from job_items where tenant_id = $1) as items,
       (select count(*)::int from credit_ledger where tenant_id = $1) as ledger,
       (select count(*)::int from status_history where tenant_id = $1) as history,
       (select count(*)::int from job_cancellations where tenant_id = $1) as cancellations,
       (select balance::float8 from credit_balances where tenant_id = $1) as balance,
       (select reserved::float8 from credit_balances where tenant_id = $1) as reserved`,
    [tenantId],
  );
  return rows[0];
}

// ---- the worker side, through the claim helper's API -------------------------------------------

/** Claim `n` pending items of the job as `worker`. */
async function claim(w: Who, jobId: string, n: number, worker = "w-1"): Promise<string[]> {
  const r = await as(w, () => Jobs.claim(jobId, { worker_id: worker, max_items: n, lease_s: 300 }));
  return r.items.map((i) => i.id);
}
const complete = (w: Who, itemId: string, worker = "w-1") =>
  as(w, () => Jobs.complete(itemId, { worker_id: worker, result: { ok: true } }));
const fail = (w: Who, itemId: string, retryable: boolean, worker = "w-1") =>
  as(w, () => Jobs.fail(itemId, { worker_id: worker, error: "boom", retryable }));

async function jobRow(jobId: string) {
  const { rows } = await query<{ status: string; finished: boolean; settled: boolean }>(
    "select status, finished_at is not null as finished, settled_at is not null as settled from jobs where id = $1",
    [jobId],
  );
  return rows[0];
}

// ---- SQS: what the spawn sent, read by a client of the test's own --------------------------------

const receiveAll = (want: number) =>
  takeMessages<{ v: number; tenantId: string; jobId: string; itemId: string }>("JobItems", want);

const checked: string[] = [];
afterEach(async () => {
  for (const t of checked.splice(0)) await assertCreditInvariants(t);
});

/** A tenant whose invariants are checked after the test. */
async function tenant(credits: number, role: Role = "agent"): Promise<Who> {
  const w = await tenantWith(credits, role);
  checked.push(w.tenantId);
  return w;
}

beforeAll(async () => {
  await receiveAll(0); // an empty queue to start with
});

describe("spawn", () => {
  it("reserves exactly n x cost, inserts n items in order and a status_history row; an external job sends nothing", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 4, credits_per_item: 2.5, metadata: { batch: "b1" } })));
    expect(job).toMatchObject({
      tenant_id: w.tenantId,
      task: "external",
      status: "running",
      items_total: 4,
      credits_per_item: 2.5,
      metadata: { batch: "b1" },
      created_by: `key:${w.keyId}`,
      counts: { pending: 4, claimed: 0, done: 0, failed: 0, cancelled: 0 },
      credits: { reserved: 10, charged: 0, released: 0, refunded: 0 },
      finished_at: null,
      settled_at: null,
    });
    expect(job.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const { rows: items } = await query<{ idx: number; input: unknown; enqueued: boolean }>(
      "select idx, input, enqueued_at is not null as enqueued from job_items where job_id = $1 order by idx",
      [job.id],
    );
    expect(items).toEqual([0, 1, 2, 3].map((i) => ({ idx: i, input: { n: i }, enqueued: false })));
    // Ids are UUID version 7 (uuid7, migration 0008): made now, and in idx order within the job.
    const { rows: ids } = await query<{ id: string }>("select id from job_items where job_id = $1 order by idx", [
      job.id,
    ]);
    const all = [job.id, ...ids.map((r) => r.id)];
    for (const id of all) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
      expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    }
    expect(ids.map((r) => r.id)).toEqual(ids.map((r) => r.id).sort());
    expect(
      (await query<{ n: number }>("select count(distinct id)::int as n from job_items where job_id = $1", [job.id]))
        .rows[0]?.n,
    ).toBe(4);
    expect(await ledgerOf(job.id)).toEqual({ reserve: { n: 1, amount: 10 } });
    const { rows: history } = await query(
      "select old_status, new_status, metadata, actor from status_history where entity_type = 'job' and entity_id = $1",
      [job.id],
    );
    expect(history).toEqual([
      { old_status: null, new_status: "running", metadata: { task: "external", items: 4 }, actor: `key:${w.keyId}` },
    ]);
    expect(await as(w, () => Credits.balance({}))).toMatchObject({ balance: 100, reserved: 10, available: 90 });
    expect(await receiveAll(0)).toEqual([]);
  });

  it("sends one JobItems message per item of a skill job and stamps enqueued_at", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ task: "kv_store", n: 12, input: kvIncr })));
    const msgs = await receiveAll(12);
    const { rows } = await query<{ id: string; enqueued: boolean }>(
      "select id, enqueued_at is not null as enqueued from job_items where job_id = $1",
      [job.id],
    );
    expect(msgs.map((m) => m.itemId).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(new Set(msgs.map((m) => m.jobId))).toEqual(new Set([job.id]));
    // v1 bodies: camelCase, the tenant, the version.
    expect(msgs[0]).toEqual({ v: 1, tenantId: w.tenantId, jobId: job.id, itemId: expect.any(String) });
    expect(rows.every((r) => r.enqueued)).toBe(true);
  });

  it("a send failing after commit loses nothing: the job is committed, its items wait for the sweeper (no enqueued_at)", async () => {
    const w = await tenant(100);
    const port = await closedPort();
    const job = await withConfig({ SQS_ENDPOINT: `http://127.0.0.1:${port}` }, () =>
      as(w, () => Jobs.spawn(body({ task: "kv_store", n: 3, input: kvIncr }))),
    );
    expect(job).toMatchObject({ status: "running", counts: { pending: 3 }, credits: { reserved: 3 } });
    const { rows } = await query<{ n: number }>(
      "select count(*)::int as n from job_items where job_id = $1 and enqueued_at is null",
      [job.id],
    );
    expect(rows[0]?.n).toBe(3);
  });

  it("refuses insufficient credits with 402 naming required and available, and writes nothing", async () => {
    const w = await tenant(10);
    await as(w, () => Jobs.spawn(body({ n: 2, credits_per_item: 3 }))); // 6 held, 4 available
    const before = await footprint(w.tenantId);
    const e = await caught(as(w, () => Jobs.spawn(body({ task: "kv_store", n: 5, input: kvIncr }))));
    expect(e).toBeInstanceOf(InsufficientCreditsError);
    expect(e.status).toBe(402);
    expect(e.code).toBe("credits.insufficient");
    expect(e.details).toEqual({ required: 5, available: 4 });
    expect(await footprint(w.tenantId)).toEqual(before);
    expect(await receiveAll(0)).toEqual([]);
  });

  it("refuses an item input the skill refuses (400 naming body.items.<n>.input.<field>) before writing anything", async () => {
    const w = await tenant(100);
    const before = await footprint(w.tenantId);
    const inputs = [kvIncr(0), { op: "incr" }, kvIncr(2), { op: "incr", key: "x", value: "one" }];
    const e = await caught(as(w, () => Jobs.spawn(body({ task: "kv_store", n: 4, input: (i) => inputs[i] }))));
    expect(e.status).toBe(400);
    expect(e.code).toBe("jobs.invalid_item_input");
    expect(fieldsOf(e)).toEqual(["body.items.1.input.key", "body.items.3.input.value"]);
    expect(await footprint(w.tenantId)).toEqual(before);
  });

  it("lists at most 20 issues of a body with many bad items, and says how many items were refused", async () => {
    const w = await tenant(100);
    const e = await caught(as(w, () => Jobs.spawn(body({ task: "kv_store", n: 50, input: () => ({ op: "nope" }) }))));
    expect(fieldsOf(e)).toHaveLength(20);
    expect(e.message).toContain("50 items refused");
  });

  it("refuses an unknown task (400 naming body.task)", async () => {
    const w = await tenant(100);
    const e = await caught(as(w, () => Jobs.spawn(body({ task: "no_such_skill" }))));
    expect(e.status).toBe(400);
    expect(e.code).toBe("jobs.unknown_task");
    expect(fieldsOf(e)).toEqual(["body.task"]);
    expect((await footprint(w.tenantId))?.jobs).toBe(0);
  });

  it("spawns 10,000 items in one statement", async () => {
    const w = await tenant(20_000);
    const started = performance.now();
    const job = await as(w, () => Jobs.spawn(body({ n: 10_000, credits_per_item: 2 })));
    const ms = performance.now() - started;
    expect(job.counts.pending).toBe(10_000);
    expect(job.credits.reserved).toBe(20_000);
    const { rows } = await query<{ n: number; max: number }>(
      "select count(*)::int as n, max(idx) as max from job_items where job_id = $1",
      [job.id],
    );
    expect(rows[0]).toEqual({ n: 10_000, max: 9_999 });
    // Not a timing test (the bench is): only a sanity bound far above one statement's cost.
    expect(ms).toBeLessThan(30_000);
  });

  it("a free job (credits_per_item 0) needs no credits and holds none", async () => {
    const w = await tenant(0);
    const job = await as(w, () => Jobs.spawn(body({ n: 2, credits_per_item: 0 })));
    expect(job.credits.reserved).toBe(0);
    expect(await ledgerOf(job.id)).toEqual({});
  });
});

describe("get, list, items", () => {
  let w: Who;
  let other: Who;
  let jobs: JobRecord[];
  beforeAll(async () => {
    w = await tenantWith(1000);
    other = await tenantWith(1000);
    jobs = [];
    for (const [task, n] of [
      ["external", 2],
      ["kv_store", 3],
      ["external", 1],
      ["kv_store", 2],
      ["external", 5],
    ] as const)
      jobs.push(await as(w, () => Jobs.spawn(body({ task, n, input: task === "kv_store" ? kvIncr : undefined }))));
    await receiveAll(5);
    await as(w, () => Jobs.cancel((jobs[2] as JobRecord).id, {}));
    await as(other, () => Jobs.spawn(body({ n: 1 })));
  });
  afterEach(async () => {
    await assertCreditInvariants(w.tenantId);
  });

  it("get: counts by state and credits; another tenant's job is a 404", async () => {
    const cancelled = await as(w, () => Jobs.get((jobs[2] as JobRecord).id));
    expect(cancelled).toMatchObject({
      status: "cancelled",
      counts: { pending: 0, cancelled: 1 },
      credits: { reserved: 1, refunded: 1 },
    });
    expect(cancelled.settled_at).not.toBeNull();
    const e = await caught(as(other, () => Jobs.get((jobs[0] as JobRecord).id)));
    expect(e.status).toBe(404);
    expect(e.code).toBe("jobs.not_found");
  });

  it("get: an admin may name the tenant; a non-admin naming another is refused", async () => {
    const admin = await tenantWith(0, "admin");
    const id = (jobs[0] as JobRecord).id;
    expect((await as(admin, () => Jobs.get(id, w.tenantId), "admin")).id).toBe(id);
    expect((await caught(as(admin, () => Jobs.get(id), "admin"))).status).toBe(404);
    expect((await caught(as(other, () => Jobs.get(id, w.tenantId)))).code).toBe("auth.cross_tenant");
  });

  it("list: newest first in keyset pages, filtered by status and task, the tenant's only", async () => {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const p = await as(w, () => Jobs.list({ limit: 2, cursor }));
      expect(p.data.length).toBeLessThanOrEqual(2);
      ids.push(...p.data.map((j) => j.id));
      cursor = p.next_cursor ?? undefined;
      if (!cursor) break;
    }
    expect(ids).toEqual(jobs.map((j) => j.id).reverse());
    const kv = await as(w, () => Jobs.list({ limit: 50, task: "kv_store" }));
    expect(kv.data.map((j) => j.id)).toEqual([jobs[3]?.id, jobs[1]?.id]);
    expect(kv.data[0]?.counts.pending).toBe(2);
    const cancelled = await as(w, () => Jobs.list({ limit: 50, status: "cancelled" }));
    expect(cancelled.data.map((j) => j.id)).toEqual([jobs[2]?.id]);
    expect((await as(other, () => Jobs.list({ limit: 50 }))).data).toHaveLength(1);
  });

  it("list: refuses a forged cursor", async () => {
    const forged = Buffer.from(JSON.stringify(["yesterday", "x"])).toString("base64url");
    const e = await caught(as(w, () => Jobs.list({ limit: 5, cursor: forged })));
    expect(e.status).toBe(400);
    expect(fieldsOf(e)).toEqual(["query.cursor"]);
  });

  it("items: in order, in keyset pages, filtered by status; another tenant's job is a 404", async () => {
    const job = jobs[4] as JobRecord;
    const seen: ItemRecord[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const p = await as(w, () => Jobs.items(job.id, { limit: 2, cursor }));
      seen.push(...p.data);
      cursor = p.next_cursor ?? undefined;
      if (!cursor) break;
    }
    expect(seen.map((i) => i.idx)).toEqual([0, 1, 2, 3, 4]);
    expect(seen[0]).toMatchObject({ job_id: job.id, input: { n: 0 }, status: "pending", attempt: 0, claimed_by: null });
    const [first] = await claim(w, job.id, 1);
    const claimed = await as(w, () => Jobs.items(job.id, { limit: 10, status: "claimed" }));
    expect(claimed.data.map((i) => i.id)).toEqual([first]);
    expect(claimed.data[0]?.lease_until).toMatch(/Z$/);
    expect((await caught(as(other, () => Jobs.items(job.id, { limit: 10 })))).status).toBe(404);
  });
});

describe("simulate", () => {
  it("without history: n x cost, a default duration per wave, the risks of a side-effecting skill; writes nothing", async () => {
    const w = await tenant(1000);
    const before = await footprint(w.tenantId);
    const r = await as(w, () =>
      Jobs.simulate(body({ task: "kv_store", n: 45, input: kvIncr, parallelism: 20, credits_per_item: 1.5 })),
    );
    expect(r).toMatchObject({
      task: "kv_store",
      items: 45,
      estimated_credits: 67.5,
      available_credits: 1000,
      estimated_duration_s: 6, // 2 s x ceil(45 / 20)
      duration_basis: "default",
      warnings: [],
    });
    expect(r.risks.map((x) => x.code)).toEqual(
      expect.arrayContaining(["jobs.no_duration_history", "jobs.side_effect_retry"]),
    );
    expect(await footprint(w.tenantId)).toEqual(before);
    const once = await as(w, () => Jobs.simulate(body({ task: "kv_store", n: 1, input: kvIncr, max_attempts: 1 })));
    expect(once.risks.map((x) => x.code)).not.toContain("jobs.side_effect_retry");
  });

  it("with history: the median duration of the tenant's done items of the task", async () => {
    const w = await tenant(1000);
    const job = await as(w, () => Jobs.spawn(body({ n: 5 })));
    const ids = await claim(w, job.id, 5);
    for (const id of ids) await complete(w, id);
    // Durations 1, 2, 3, 4, 5 s: the median is 3 s.
    await query(`update job_items set duration_ms = (idx + 1) * 1000 where job_id = $1`, [job.id]);
    const r = await as(w, () => Jobs.simulate(body({ n: 120, parallelism: 80 })));
    expect(r.duration_basis).toBe("history");
    // min(80, JOBS_MAX_PARALLELISM 50) at once: 3 waves of 3 s.
    expect(r.estimated_duration_s).toBe(9);
    expect(r.warnings.map((x) => x.code)).toEqual(["jobs.parallelism_above_limit"]);
    expect(r.risks.map((x) => x.code)).not.toContain("jobs.no_duration_history");
    // Another tenant's history is not this one's.
    const stranger = await tenant(1000);
    expect((await as(stranger, () => Jobs.simulate(body({ n: 1 })))).duration_basis).toBe("default");
  });

  it("warns of insufficient credits, an unknown task and an open breaker", async () => {
    const w = await tenant(5);
    const low = await as(w, () => Jobs.simulate(body({ n: 10 })));
    expect(low.warnings).toEqual([
      { code: "credits.insufficient", message: expect.stringContaining("10 credits required, 5 available") },
    ]);
    const unknown = await as(w, () => Jobs.simulate(body({ task: "no_such_skill", n: 1 })));
    expect(unknown.warnings.map((x) => x.code)).toEqual(["jobs.unknown_task"]);
    const voyage = body({ task: "voyage_embed", n: 1, input: () => ({ input: ["hello"] }) });
    expect((await as(w, () => Jobs.simulate(voyage))).warnings).toEqual([]);
    await query(
      `insert into circuit_breaker_state (tenant_id, target, state, failure_count, opened_at, cooldown_until)
       values (null, 'voyage', 'OPEN', 5, now(), now() + interval '1 hour')`,
    );
    expect((await as(w, () => Jobs.simulate(voyage))).warnings.map((x) => x.code)).toEqual(["skills.circuit_open"]);

    // A webhook job's items may call many hosts: each distinct host's breaker is looked at, not
    // only the first item's.
    const hooks = body({
      task: "webhook_send",
      n: 3,
      input: (i) => ({ url: `https://${i === 2 ? "down" : "up"}.example.com/hook`, payload: { i } }),
    });
    expect((await as(w, () => Jobs.simulate(hooks))).warnings).toEqual([]);
    await query(
      `insert into circuit_breaker_state (tenant_id, target, state, failure_count, opened_at, cooldown_until)
       values ($1, 'webhook:down.example.com', 'OPEN', 5, now(), now() + interval '1 hour')`,
      [w.tenantId],
    );
    expect((await as(w, () => Jobs.simulate(hooks))).warnings).toEqual([
      { code: "skills.circuit_open", message: expect.stringContaining("target webhook:down.example.com is OPEN") },
    ]);
  });

  it("refuses bad item input as spawn does", async () => {
    const w = await tenant(100);
    const e = await caught(as(w, () => Jobs.simulate(body({ task: "kv_store", n: 2, input: () => ({ op: "get" }) }))));
    expect(fieldsOf(e)).toEqual(["body.items.0.input.key", "body.items.1.input.key"]);
  });
});

describe("cancel", () => {
  it("at 50 of 100 done: refunds exactly 50 x cost, records the cancellation, settles the job", async () => {
    const w = await tenant(1000);
    const job = await as(w, () => Jobs.spawn(body({ n: 100, credits_per_item: 2, parallelism: 100 })));
    const ids = await claim(w, job.id, 50);
    for (const id of ids) await complete(w, id);
    const r = await as(w, () => Jobs.cancel(job.id, { reason: "enough" }));
    expect(r).toEqual({
      job_id: job.id,
      status: "cancelled",
      completed_items: 50,
      cancelled_items: 50,
      in_flight_items: 0,
      credits_refunded: 100,
    });
    expect(await ledgerOf(job.id)).toEqual({
      charge: { n: 50, amount: 100 },
      refund: { n: 1, amount: 100 },
      reserve: { n: 1, amount: 200 },
    });
    expect(await jobRow(job.id)).toEqual({ status: "cancelled", finished: true, settled: true });
    const { rows } = await query(
      "select completed_items, cancelled_items, reason from job_cancellations where job_id = $1",
      [job.id],
    );
    expect(rows).toEqual([{ completed_items: 50, cancelled_items: 50, reason: "enough" }]);
    expect(await as(w, () => Credits.balance({}))).toMatchObject({ balance: 900, reserved: 0, available: 900 });
    const history = await query<{ old_status: string; new_status: string; reason: string }>(
      "select old_status, new_status, reason from status_history where entity_id = $1 and old_status is not null",
      [job.id],
    );
    expect(history.rows).toEqual([{ old_status: "running", new_status: "cancelled", reason: "enough" }]);
  });

  it("twice: the same answer, one refund, one cancellation row", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 10, credits_per_item: 3 })));
    const [first, second] = await Promise.all([
      as(w, () => Jobs.cancel(job.id, {})),
      as(w, () => Jobs.cancel(job.id, { reason: "again" })),
    ]);
    const third = await as(w, () => Jobs.cancel(job.id, {}));
    expect(first).toEqual(second);
    expect(third).toEqual(first);
    expect(first).toMatchObject({ cancelled_items: 10, credits_refunded: 30 });
    expect((await ledgerOf(job.id)).refund).toEqual({ n: 1, amount: 30 });
    const { rows } = await query<{ n: number }>("select count(*)::int as n from job_cancellations where job_id = $1", [
      job.id,
    ]);
    expect(rows[0]?.n).toBe(1);
    expect(await as(w, () => Credits.balance({}))).toMatchObject({ balance: 100, reserved: 0 });
  });

  it("with items in flight: they finish later (charged or released) and the last one settles the job", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 10, credits_per_item: 2 })));
    const [a, b, c, d, e] = await claim(w, job.id, 5);
    await complete(w, a as string);
    await complete(w, b as string);
    const r = await as(w, () => Jobs.cancel(job.id, {}));
    expect(r).toMatchObject({ completed_items: 2, cancelled_items: 5, in_flight_items: 3, credits_refunded: 10 });
    expect(await jobRow(job.id)).toEqual({ status: "cancelled", finished: false, settled: false });
    await complete(w, c as string);
    // A retryable failure of a cancelled job's item does not reopen it: it fails and is released.
    const failed = await fail(w, d as string, true);
    expect(failed.status).toBe("failed");
    expect(await jobRow(job.id)).toMatchObject({ settled: false });
    await complete(w, e as string);
    expect(await jobRow(job.id)).toEqual({ status: "cancelled", finished: true, settled: true });
    expect(await ledgerOf(job.id)).toEqual({
      charge: { n: 4, amount: 8 },
      refund: { n: 1, amount: 10 },
      release: { n: 1, amount: 2 },
      reserve: { n: 1, amount: 20 },
    });
    expect(await as(w, () => Credits.balance({}))).toMatchObject({ balance: 92, reserved: 0 });
    expect(await as(w, () => Jobs.finalise(job.id))).toBe(false);
  });

  it("refuses a finished job (409 jobs.not_running) and another tenant's (404)", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 2 })));
    for (const id of await claim(w, job.id, 2)) await complete(w, id);
    const e = await caught(as(w, () => Jobs.cancel(job.id, {})));
    expect(e.status).toBe(409);
    expect(e.code).toBe("jobs.not_running");
    expect(await jobRow(job.id)).toMatchObject({ status: "completed", settled: true });

    const other = await tenant(100);
    const open = await as(w, () => Jobs.spawn(body({ n: 1 })));
    expect((await caught(as(other, () => Jobs.cancel(open.id, {})))).status).toBe(404);
    expect(await jobRow(open.id)).toMatchObject({ status: "running" });
  });
  it("a running job whose items all finished but which is not finalised yet: settled now, then 409", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 2, credits_per_item: 3 })));
    // Both items finished by hand, so no finalisation ran after them.
    const items = await query<{ id: string }>(
      `update job_items set status = 'done', finished_at = now() where job_id = $1 returning id`,
      [job.id],
    );
    for (const { id } of items.rows) await as(w, () => Credits.charge(w.tenantId, job.id, id, 3));
    expect(await jobRow(job.id)).toMatchObject({ status: "running", settled: false });
    const e = await caught(as(w, () => Jobs.cancel(job.id, {})));
    expect(e.code).toBe("jobs.not_running");
    expect(e.details).toEqual({ job_id: job.id, status: "completed" });
    expect(await jobRow(job.id)).toEqual({ status: "completed", finished: true, settled: true });
    const { rows } = await query<{ n: number }>("select count(*)::int as n from job_cancellations where job_id = $1", [
      job.id,
    ]);
    expect(rows[0]?.n).toBe(0);
  });
});

describe("finalise", () => {
  it("settles once, whoever races for it; false while items are open", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 3, credits_per_item: 4 })));
    const [a, b, c] = await claim(w, job.id, 3);
    expect(await as(w, () => Jobs.finalise(job.id))).toBe(false);
    await complete(w, a as string);
    await fail(w, b as string, false);
    // The last item done by hand (no finalisation after it), then five finalisations at once.
    await query(
      "update job_items set status = 'done', claimed_by = null, lease_until = null, finished_at = now() where id = $1",
      [c],
    );
    await as(w, () => Credits.charge(w.tenantId, job.id, c as string, 4));
    const results = await Promise.all(Array.from({ length: 5 }, () => as(w, () => Jobs.finalise(job.id))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await jobRow(job.id)).toEqual({ status: "failed", finished: true, settled: true });
    expect(await as(w, () => Credits.balance({}))).toMatchObject({ balance: 92, reserved: 0 });
    expect(await as(w, () => Jobs.finalise(job.id))).toBe(false);
    const history = await query<{ new_status: string }>(
      "select new_status from status_history where entity_id = $1 order by id",
      [job.id],
    );
    expect(history.rows.map((h) => h.new_status)).toEqual(["running", "failed"]);
  });

  it("a job whose items are all done completes", async () => {
    const w = await tenant(100);
    const job = await as(w, () => Jobs.spawn(body({ n: 2, credits_per_item: 5 })));
    for (const id of await claim(w, job.id, 2)) await complete(w, id);
    expect(await as(w, () => Jobs.get(job.id))).toMatchObject({
      status: "completed",
      counts: { done: 2 },
      credits: { reserved: 10, charged: 10 },
    });
    expect(await as(w, () => Credits.balance({}))).toMatchObject({ balance: 90, reserved: 0 });
    expect(await as(w, () => Jobs.finalise(randomUUID()))).toBe(false);
  });
});
