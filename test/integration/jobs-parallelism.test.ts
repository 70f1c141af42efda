/**
 * A job's `parallelism`, enforced on real Postgres: concurrent claimers over HTTP and concurrent
 * SQS worker batches never hold more of a job's items at once than it allows (job_claim_room,
 * migration 0014), items held back are woken again and the job finishes. In flight is sampled
 * from the database while the workers run, and counted by the workers themselves.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { claimByIds } from "../../core/jobs/claim.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { JobNotRunningError } from "../../core/jobs/index.ts";
import { wakeParked } from "../../core/jobs/item-outbox.ts";
import { query } from "../../core/platform/db/index.ts";
import { handler as itemsHandler } from "../../functions/queue/job-items.ts";
import { lambdaContext, sqsEvent } from "../events/index.ts";
import { asKey as as, checkedTenants, jobStatus, spawnBody } from "../factories/jobs.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

const tenant = checkedTenants();
type Message = { v: 1; tenantId: string; jobId: string; itemId: string };

const inFlightSql = "select count(*)::int as n from job_items where job_id = $1 and status = 'claimed'";

/** Samples the job's items in flight on a connection of its own until stopped; the maximum seen. */
function sampler(jobId: string) {
  const c = new pg.Client({ connectionString: config().databaseUrl });
  let max = 0;
  let samples = 0;
  let stopped = false;
  let failure: unknown;
  // A test that times out leaves it running until the file's database is dropped under it.
  c.on("error", () => {});
  const run = (async () => {
    await c.connect();
    while (!stopped) {
      const n = (await c.query(inFlightSql, [jobId])).rows[0].n as number;
      max = Math.max(max, n);
      samples++;
    }
    await c.end();
  })().catch((e) => {
    failure = e;
  });
  return {
    stop: async () => {
      stopped = true;
      await run;
      if (failure) throw failure;
      return { max, samples };
    },
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("parallelism over HTTP claims", () => {
  it("40 claimers at once, none completing: exactly `parallelism` items are leased", async () => {
    const w = await tenant(1000);
    const { id: jobId } = await as(w, () => Jobs.spawn(spawnBody({ n: 100, parallelism: 5 })));
    const claims = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        as(w, () => Jobs.claim(jobId, { worker_id: `w-${i}`, max_items: 1 + (i % 5) })),
      ),
    );
    const got = claims.flatMap((c) => c.items);
    expect(got).toHaveLength(5);
    expect((await query<{ n: number }>(inFlightSql, [jobId])).rows[0]?.n).toBe(5);
    await as(w, () => Jobs.cancel(jobId, {}));
    for (const [i, c] of claims.entries())
      for (const item of c.items) await as(w, () => Jobs.complete(item.id, { worker_id: `w-${i}`, result: {} }));
  });

  it("30 workers claiming and completing: in flight never exceeds parallelism, every item done once", async () => {
    const w = await tenant(1000);
    const parallelism = 4;
    const { id: jobId } = await as(w, () => Jobs.spawn(spawnBody({ n: 150, parallelism })));
    const s = sampler(jobId);
    // Held by the workers' own count: up from a claim's reply, down before the completion is sent,
    // so it never counts more than the database holds.
    let held = 0;
    let maxHeld = 0;
    const done: string[] = [];
    const worker = async (name: string) => {
      for (;;) {
        const { items } = await as(w, () => Jobs.claim(jobId, { worker_id: name, max_items: 3 })).catch((e) => {
          if (e instanceof JobNotRunningError) return { items: null };
          throw e;
        });
        if (items === null) return;
        if (items.length === 0) {
          await pause(2);
          continue;
        }
        held += items.length;
        maxHeld = Math.max(maxHeld, held);
        await pause(Math.random() * 4);
        for (const item of items) {
          held--;
          await as(w, () => Jobs.complete(item.id, { worker_id: name, result: { by: name } }));
          done.push(item.id);
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 30 }, (_, i) => worker(`w-${i}`)));
    const { max, samples } = await s.stop();
    console.log(
      `HTTP: 150 items, parallelism ${parallelism}, 30 workers: max in flight sampled ${max} (${samples} samples), workers' own max ${maxHeld}, ${Math.round(performance.now() - t0)} ms`,
    );
    expect(max).toBeLessThanOrEqual(parallelism);
    expect(maxHeld).toBeLessThanOrEqual(parallelism);
    expect(max).toBeGreaterThan(0);
    expect(new Set(done).size).toBe(150);
    expect(done).toHaveLength(150);
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
  });

  it("a job with no more items than its parallelism is not limited", async () => {
    const w = await tenant(100);
    const { id: jobId } = await as(w, () => Jobs.spawn(spawnBody({ n: 6, parallelism: 6 })));
    const c = await Promise.all(
      [0, 1, 2].map((i) => as(w, () => Jobs.claim(jobId, { worker_id: `w${i}`, max_items: 2 }))),
    );
    expect(c.flatMap((x) => x.items)).toHaveLength(6);
    await as(w, () => Jobs.cancel(jobId, {}));
    for (const [i, x] of c.entries())
      for (const item of x.items) await as(w, () => Jobs.complete(item.id, { worker_id: `w${i}`, result: {} }));
  });
});

describe("parallelism on the SQS worker path", () => {
  it("concurrent batches claim at most `parallelism`; the rest is held back, parked, not lost", async () => {
    await takeMessages("JobItems");
    const w = await tenant(1000);
    const key = `p-${randomUUID()}`;
    const { id: jobId } = await as(w, () =>
      Jobs.spawn(spawnBody({ task: "kv_store", n: 60, parallelism: 4, input: () => ({ op: "incr", key }) })),
    );
    const messages = await takeMessages<Message>("JobItems", 60);
    expect(messages).toHaveLength(60);
    // Six batches of ten claim at once: four items leased between them, 56 held.
    const batches = Array.from({ length: 6 }, (_, b) =>
      messages.slice(b * 10, b * 10 + 10).map((body) => ({ messageId: randomUUID(), body })),
    );
    const results = await Promise.all(batches.map((b) => claimByIds(b)));
    expect(results.flatMap((r) => r.claimed)).toHaveLength(4);
    expect(results.flatMap((r) => r.held)).toHaveLength(56);
    const parked = await query<{ n: number }>(
      "select count(*)::int as n from job_items where job_id = $1 and status = 'pending' and enqueued_at is null",
      [jobId],
    );
    expect(parked.rows[0]?.n).toBe(56);
    await as(w, () => Jobs.cancel(jobId, {}));
    // The four in flight may still finish (their leases are the workers'; here they fail, released).
    for (const r of results)
      for (const item of r.claimed)
        await as(w, () => Jobs.fail(item.id, { worker_id: item.claimed_by, error: "stop", retryable: false }));
  });

  it("the JobItems worker runs a job of 40 items with parallelism 3 to the end, never more than 3 in flight", async () => {
    await takeMessages("JobItems");
    const w = await tenant(1000);
    const key = `p-${randomUUID()}`;
    const { id: jobId } = await as(w, () =>
      Jobs.spawn(spawnBody({ task: "kv_store", n: 40, parallelism: 3, input: () => ({ op: "incr", key }) })),
    );
    const s = sampler(jobId);
    const t0 = performance.now();
    // Four "Lambda instances" take batches of ten off the real queue until the job is finished;
    // held-back items come back only through the messages the workers send when items finish.
    const lambda = async () => {
      for (let idle = 0; idle < 20; ) {
        const st = await jobStatus(jobId);
        if (st?.status !== "running") return;
        const bodies = await takeMessages<Message>("JobItems", 1).catch(() => []);
        if (bodies.length === 0) {
          idle++;
          continue;
        }
        idle = 0;
        for (let i = 0; i < bodies.length; i += 10)
          await itemsHandler(sqsEvent(bodies.slice(i, i + 10)), lambdaContext());
      }
    };
    await Promise.all([lambda(), lambda(), lambda(), lambda()]);
    const { max, samples } = await s.stop();
    console.log(
      `SQS: 40 items, parallelism 3, 4 consumers: max in flight sampled ${max} (${samples} samples), ${Math.round(performance.now() - t0)} ms`,
    );
    expect(await jobStatus(jobId)).toEqual({ status: "completed", settled: true });
    expect(max).toBeLessThanOrEqual(3);
    const done = await query<{ n: number }>(
      "select count(*)::int as n from job_items where job_id = $1 and status = 'done'",
      [jobId],
    );
    expect(done.rows[0]?.n).toBe(40);
  });

  it("a wake waits for a claim under way on the job, so an item that claim parks is woken, not left to the sweeper", async () => {
    await takeMessages("JobItems");
    const w = await tenant(100);
    const { id: jobId } = await as(w, () =>
      Jobs.spawn(spawnBody({ task: "kv_store", n: 3, parallelism: 1, input: (i) => ({ op: "incr", key: `k${i}` }) })),
    );
    await takeMessages<Message>("JobItems", 3);
    const [parked] = (
      await query<{ id: string }>("select id from job_items where job_id = $1 order by idx desc limit 1", [jobId])
    ).rows;
    // A claim in the middle of its statement, as claimByIds holds it: the job's claim lock taken,
    // the item it holds back marked parked, not yet committed.
    const claimer = new pg.Client({ connectionString: config().databaseUrl });
    await claimer.connect();
    try {
      await claimer.query("begin");
      await claimer.query("select pg_advisory_xact_lock(1785686892, hashtext(CAST(CAST($1 AS uuid) AS text)))", [
        jobId,
      ]);
      await claimer.query("update job_items set enqueued_at = null where id = $1", [parked?.id]);
      let settled = false;
      const wake = wakeParked(jobId, 1).finally(() => {
        settled = true;
      });
      await pause(300);
      expect(settled).toBe(false);
      await claimer.query("commit");
      expect(await wake).toBe(1);
    } finally {
      await claimer.end();
    }
    const sent = await takeMessages<Message>("JobItems", 1);
    expect(sent.map((m) => m.itemId)).toEqual([parked?.id]);
    const row = await query<{ stamped: boolean }>(
      "select enqueued_at is not null as stamped from job_items where id = $1",
      [parked?.id],
    );
    expect(row.rows[0]?.stamped).toBe(true);
    await as(w, () => Jobs.cancel(jobId, {}));
  });

  it("concurrent wakes of one job wake different parked items: each finished item frees one", async () => {
    await takeMessages("JobItems");
    const w = await tenant(100);
    const { id: jobId } = await as(w, () =>
      Jobs.spawn(spawnBody({ task: "kv_store", n: 8, parallelism: 1, input: (i) => ({ op: "incr", key: `k${i}` }) })),
    );
    await takeMessages<Message>("JobItems", 8);
    await query("update job_items set enqueued_at = null where job_id = $1", [jobId]);
    const woken = await Promise.all(Array.from({ length: 6 }, () => wakeParked(jobId, 1)));
    expect(woken).toEqual([1, 1, 1, 1, 1, 1]);
    const sent = await takeMessages<Message>("JobItems", 6);
    expect(new Set(sent.map((m) => m.itemId)).size).toBe(6);
    const left = await query<{ n: number }>(
      "select count(*)::int as n from job_items where job_id = $1 and enqueued_at is null",
      [jobId],
    );
    expect(left.rows[0]?.n).toBe(2);
    await as(w, () => Jobs.cancel(jobId, {}));
  });
});
