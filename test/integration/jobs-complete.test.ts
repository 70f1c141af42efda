/**
 * Completing items on real Postgres: many at once (`completeMany`), the finalisation check that
 * only a job's last completions make (and that waits for a completion still committing), and the
 * plans of the hot statements (items found by primary key, not through the partial index of
 * every tenant's claimed items). The credits invariants are checked after every scenario.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import * as claimSql from "../../core/jobs/claim.sql.ts";
import * as Jobs from "../../core/jobs/index.ts";
import * as itemHistorySql from "../../core/jobs/item-history.sql.ts";
import { finaliseIfFinished } from "../../core/jobs/items.ts";
import * as lifecycleSql from "../../core/jobs/lifecycle.sql.ts";
import * as sql from "../../core/jobs/work.sql.ts";
import { clock, ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { asKey as as, checkedTenants, jobStatus, spawnBody, type Who } from "../factories/jobs.ts";

const tenant = checkedTenants();

const spawn = async (w: Who, n: number) =>
  (await as(w, () => Jobs.spawn(spawnBody({ n, parallelism: 1000, credits_per_item: 2 })))).id;
const claim = async (w: Who, jobId: string, worker: string, max: number, lease_s?: number) =>
  (await as(w, () => Jobs.claim(jobId, { worker_id: worker, max_items: max, lease_s }))).items.map((i) => i.id);
/** The job's charge rows, oldest first: the items each charges, its amount and its key. */
const chargeRows = async (jobId: string) =>
  (
    await query<{ items: string[]; amount: number; key: string }>(
      `select coalesce(item_ids, array[item_id]) as items, amount::float8 as amount, idempotency_key as key
       from credit_ledger where job_id = $1 and kind = 'charge' order by id`,
      [jobId],
    )
  ).rows;
/** How many items the job's charges cover (each item once: checked). */
const charges = async (jobId: string) => {
  const items = (await chargeRows(jobId)).flatMap((r) => r.items);
  expect(new Set(items).size).toBe(items.length);
  return items.length;
};

describe("completeMany", () => {
  it("completes and charges the items the worker holds, refuses each other one, and finalises the job", async () => {
    const w = await tenant(100);
    const other = await tenant(100);
    const manual = new ManualClock(Date.now());
    setClock(manual);
    const jobId = await spawn(w, 6);
    const mine = await claim(w, jobId, "a", 4);
    const [theirs] = await claim(w, jobId, "b", 1);
    const [expired] = await claim(w, jobId, "a", 1, 1);
    const otherJob = await spawn(other, 1);
    const [foreign] = await claim(other, otherJob, "a", 1);
    manual.advance(2_000);
    try {
      const unknown = randomUUID();
      const r = await as(w, () =>
        Jobs.completeMany({
          worker_id: "a",
          items: [...mine, theirs, expired, foreign, unknown].map((id, n) => ({ id: id as string, result: { n } })),
        }),
      );
      expect(r.completed.map((i) => [i.id, i.job_id, i.status])).toEqual(mine.map((id) => [id, jobId, "done"]));
      for (const i of r.completed) {
        expect(i.finished_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
        expect(i.duration_ms).toBe(2_000);
      }
      // Each item's own result is stored.
      const stored = await query<{ id: string; result: unknown }>(
        "select id, result from job_items where id = any($1) order by idx",
        [mine],
      );
      expect(stored.rows).toEqual(mine.map((id, n) => ({ id, result: { n } })));
      expect(r.refused.map((x) => [x.id, x.error.code])).toEqual([
        [theirs, "jobs.lease_lost"],
        [expired, "jobs.lease_lost"],
        [foreign, "jobs.item_not_found"],
        [unknown, "jobs.item_not_found"],
      ]);
      expect(r.refused[0]?.error.message).toContain("another worker holds it");
      expect(r.refused[1]?.error.message).toContain("lease ended");
      // The four are ONE charge row: their ids in order, their sum, keyed by the first and last.
      const ids = [...mine].sort();
      expect(await chargeRows(jobId)).toEqual([{ items: ids, amount: 8, key: `charge:${ids[0]}..${ids[3]}` }]);

      // Again: nothing is charged twice, every item is refused.
      const again = await as(w, () =>
        Jobs.completeMany({ worker_id: "a", items: mine.map((id) => ({ id, result: null })) }),
      );
      expect([again.completed, again.refused.map((x) => x.error.code)]).toEqual([
        [],
        mine.map(() => "jobs.lease_lost"),
      ]);
      expect(await charges(jobId)).toBe(4);
      expect(await jobStatus(jobId)).toEqual({ status: "running", settled: false });

      // The last two (one re-claimed after its lease ended) complete the job in one call.
      await as(w, () => Jobs.sweep());
      const rest = await claim(w, jobId, "c", 5);
      const last = await as(w, () =>
        Jobs.completeMany({ worker_id: "b", items: [{ id: theirs as string, result: "b" }] }),
      );
      expect(last.completed).toHaveLength(1);
      expect(await jobStatus(jobId)).toEqual({ status: "running", settled: false });
      await as(w, () => Jobs.completeMany({ worker_id: "c", items: rest.map((id) => ({ id, result: "c" })) }));
      expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
      expect(await charges(jobId)).toBe(6);
      // A completion of one item is that item's own row, as Jobs.complete writes it.
      expect((await chargeRows(jobId)).slice(1)).toEqual([
        { items: [theirs], amount: 2, key: `charge:${theirs}` },
        { items: rest, amount: 2, key: `charge:${rest[0]}` },
      ]);
    } finally {
      setClock(systemClock);
      await as(other, () => Jobs.cancel(otherJob, {}));
      await as(other, () => Jobs.completeMany({ worker_id: "a", items: [{ id: foreign as string, result: null }] }));
    }
  });
});

describe("finalisation after the last completion", () => {
  it("waits for a completion still committing, then finalises the job", async () => {
    const w = await tenant(100);
    const jobId = await spawn(w, 2);
    const [first, second] = await claim(w, jobId, "a", 2);
    // The first completion sees the second item in flight: the job stays open.
    await as(w, () => Jobs.complete(first as string, { worker_id: "a", result: 1 }));
    expect(await jobStatus(jobId)).toEqual({ status: "running", settled: false });

    // The second completion's statement has run but not committed: its item is locked.
    const c = new pg.Client({ connectionString: config().databaseUrl });
    await c.connect();
    try {
      await c.query("begin");
      const done = await c.query(sql.complete.text, [second, w.tenantId, "a", clock().now(), "2", "test"]);
      expect(done.rows[0]).toMatchObject({ status: "done", pending_left: false });
      let returned = false;
      const check = finaliseIfFinished(jobId).then(() => {
        returned = true;
      });
      await new Promise((ok) => setTimeout(ok, 300));
      // A check that read the item as still claimed would have returned by now, finalising nothing.
      expect(returned).toBe(false);
      await c.query("commit");
      await check;
    } finally {
      await c.end();
    }
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
  });

  it("a cancel that takes the pending item a completion counted on finalises the job once that completion commits", async () => {
    const w = await tenant(100);
    const jobId = await spawn(w, 2);
    const [x] = await claim(w, jobId, "a", 1);
    // The completion's statement has run (it saw the other item pending, so it leaves the
    // finalisation to whoever finishes that one) but not committed.
    const c = new pg.Client({ connectionString: config().databaseUrl });
    await c.connect();
    try {
      await c.query("begin");
      const done = await c.query(sql.complete.text, [x, w.tenantId, "a", clock().now(), "1", "test"]);
      expect(done.rows[0]).toMatchObject({ status: "done", pending_left: true });
      // The cancel waits for that completion (its charge's foreign key holds the job row FOR KEY
      // SHARE, the cancel locks it FOR UPDATE), so it sees x done and settles the job itself.
      // Should it ever not wait, it would see x in flight, and its check after commit (which
      // waits for x's lock) finalises the job instead: either way, settled when it answers.
      let answered = false;
      const cancel = as(w, () => Jobs.cancel(jobId, {})).then((r) => {
        answered = true;
        return r;
      });
      await new Promise((ok) => setTimeout(ok, 300));
      expect(answered).toBe(false);
      await c.query("commit");
      expect(await cancel).toMatchObject({ completed_items: 1, cancelled_items: 1 });
    } finally {
      await c.end();
    }
    expect(await jobStatus(jobId)).toEqual({ status: "cancelled", settled: true });
    expect(await charges(jobId)).toBe(1);
  });

  it("jobs whose items all complete at once are finalised before the completions return, without the sweeper", async () => {
    const w = await tenant(1000);
    const jobs = await Promise.all(Array.from({ length: 20 }, () => spawn(w, 4)));
    const held: { id: string; worker: string }[] = [];
    for (const jobId of jobs)
      for (let k = 0; k < 4; k++)
        for (const id of await claim(w, jobId, `w-${k}`, 1)) held.push({ id, worker: `w-${k}` });
    expect(held).toHaveLength(80);
    await Promise.all(held.map((h) => as(w, () => Jobs.complete(h.id, { worker_id: h.worker, result: null }))));
    const { rows } = await query<{ status: string; settled: boolean }>(
      "select status, settled_at is not null as settled from jobs where id = any(CAST($1 AS uuid[]))",
      [jobs],
    );
    expect(rows).toEqual(jobs.map(() => ({ status: "completed", settled: true })));
  });
});

describe("plans", () => {
  it("complete, completeMany, heartbeat and fail find items by primary key; a claim counts its job's in flight by job", async () => {
    // Enough rows over enough jobs that a scan of job_items is never the cheap way, whatever ran
    // before in the file.
    // 20,000 items (about 300 pages): with 4,000 a sequential scan was the planner's honest choice
    // for a generic `job_id = any($1)` of unknown length, and the check failed by the statistics.
    const w = await tenant(50_000);
    const jobIds: string[] = [];
    for (let k = 0; k < 20; k++) jobIds.push(await spawn(w, 1000));
    // The trap: statistics taken while few items are claimed make the partial index of claimed
    // items look like the cheapest way to any claimed item.
    await query("analyze job_items");
    const c = new pg.Client({ connectionString: config().databaseUrl });
    await c.connect();
    try {
      await c.query("set plan_cache_mode = force_generic_plan");
      for (const [name, text, types] of [
        ["complete", sql.complete.text, "uuid, uuid, text, timestamptz, text, text"],
        ["complete_many", sql.completeMany.text, "uuid[], uuid, timestamptz, text, text[], jsonb"],
        ["heartbeat", sql.heartbeat, "uuid, uuid, text, timestamptz, integer"],
        ["fail", sql.fail, "uuid, uuid, text, timestamptz, boolean, text"],
      ] as const) {
        await c.query(`prepare ${name}(${types}) as ${text}`);
        const n = types.split(",").length;
        const { rows } = await c.query(`explain execute ${name}(${Array(n).fill("null").join(", ")})`);
        const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
        expect(plan, name).toContain("job_items_pkey");
        expect(plan, name).not.toContain("job_items_claimed_idx");
      }
      // A claim looks for its job's ended leases through the index keyed by job, not by walking
      // the claimed items of every job (job_claim_room counts the job's in flight the same way).
      await c.query(
        `prepare claim(uuid, uuid, integer, text, timestamptz, integer, text) as ${claimSql.claimPending.text}`,
      );
      const { rows } = await c.query("explain execute claim(null, null, 1, 'w', null, null, 'key:w')");
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).toMatch(
        /job_items_claimed_idx[^\n]*\n\s*Index Cond: \(\(job_id = \$\d+\) AND \(lease_until < \$5\)\)/,
      );

      // The read side without the (job, status) and done-by-tenant indexes (migration 0009): a
      // job's counts and simulation's history reach items through (job_id, idx), never by a scan.
      for (const [name, text, types] of [
        ["counts", lifecycleSql.countItems, "uuid[]"],
        ["history", itemHistorySql.itemDurationsOf, "uuid, text"],
      ] as const) {
        await c.query(`prepare ${name}(${types}) as ${text}`);
        const n = types.split(",").length;
        const { rows: r } = await c.query(`explain execute ${name}(${Array(n).fill("null").join(", ")})`);
        const p = r.map((x) => x["QUERY PLAN"]).join("\n");
        expect(p, name).toContain("job_items_job_id_idx_key");
        expect(p, name).not.toMatch(/Seq Scan on job_items/);
      }
    } finally {
      await c.end();
    }
    for (const id of jobIds) await as(w, () => Jobs.cancel(id, {}));
  });
});
