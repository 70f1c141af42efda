/**
 * The work routes and the JobItems worker as Lambda would call them: claim, heartbeat, complete
 * and fail over HTTP, and the SQS handler over real queue messages running real skills (kv_store
 * on Redis). Redelivery charges once and runs the skill once; a send lost after commit is
 * recovered by the sweeper; the credits invariants are checked after every scenario.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { retryDelayS } from "../../core/failures/index.ts";
import type { JobSpawn } from "../../core/jobs/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { hashArgs } from "../../core/platform/idempotency/index.ts";
import { renderMetrics } from "../../core/platform/metrics/index.ts";
import * as SkillIdempotency from "../../core/skills/idempotency.ts";
import * as Skills from "../../core/skills/index.ts";
import { handler as sweepHandler } from "../../functions/cron/job-sweep.ts";
import { handler as itemsHandler } from "../../functions/queue/job-items.ts";
import { invoke, lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";
import { ledgerOf } from "../factories/credits.ts";
import { checkedKeyedTenants, kvCounter, workItems } from "../factories/jobs.ts";
import type { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { closedAfterEach, startSlackServer } from "../setup/external-servers.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
type Message = { v: number; tenantId: string; jobId: string; itemId: string };

const tenant = checkedKeyedTenants();

const tag = () => randomBytes(4).toString("hex");

async function spawn(t: Tenant, body: Partial<JobSpawn> & { items: { input: unknown }[] }): Promise<string> {
  const res = await invoke("POST", "/api/v1/jobs", { key: t.keys.agent.key, body: { task: "external", ...body } });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

const post = (t: Tenant, path: string, body: unknown) => invoke("POST", path, { key: t.keys.agent.key, body });

/** What the JobItems queue holds now (read and deleted). */
const trackServer = closedAfterEach();
const drain = (want = 0) => takeMessages<Message>("JobItems", want);

const work = workItems;
const counter = (t: Tenant, key: string) => kvCounter(t.tenant.id, key);

/** Every item the job's charges name, each as often as it is charged, and the number of charge rows. */
async function chargedItems(jobId: string): Promise<{ items: string[]; rows: number }> {
  const { rows } = await query<{ items: string[] }>(
    "select coalesce(item_ids, array[item_id]) as items from credit_ledger where job_id = $1 and kind = 'charge'",
    [jobId],
  );
  return { items: rows.flatMap((r) => r.items).sort(), rows: rows.length };
}

/** A sample of the merged metrics (what GET /metrics shows), 0 when absent. */
async function sample(line: string): Promise<number> {
  const { body } = await renderMetrics();
  const found = body.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

const job = async (t: Tenant, id: string) =>
  (await invoke("GET", `/api/v1/jobs/${id}`, { key: t.keys.viewer.key })).body;

beforeAll(async () => {
  await drain();
});

describe("HTTP: claim, heartbeat, complete, fail", () => {
  it("an agent claims, heartbeats, completes and fails items; a late or foreign call is refused", async () => {
    const t = await tenant();
    const id = await spawn(t, { items: [{ input: { url: "a" } }, { input: { url: "b" } }], max_attempts: 2 });
    const claimed = await post(t, `/api/v1/jobs/${id}/claim`, { worker_id: "agent-1", max_items: 5, lease_s: 30 });
    expect(claimed.status).toBe(200);
    expect(claimed.body.items.map((i: { input: unknown }) => i.input)).toEqual([{ url: "a" }, { url: "b" }]);
    const [a, b] = claimed.body.items as { id: string; lease_until: string }[];
    if (!a || !b) throw new Error("two items expected");

    const beat = await post(t, `/api/v1/items/${a.id}/heartbeat`, { worker_id: "agent-1", lease_s: 600 });
    expect(beat.status).toBe(200);
    expect(Date.parse(beat.body.lease_until)).toBeGreaterThan(Date.parse(a.lease_until));
    expect((await post(t, `/api/v1/items/${a.id}/heartbeat`, { worker_id: "agent-2" })).body.error.code).toBe(
      "jobs.lease_lost",
    );

    const done = await post(t, `/api/v1/items/${a.id}/complete`, { worker_id: "agent-1", result: { words: 3 } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: a.id, status: "done", result: { words: 3 }, attempt: 1, lease_until: null });
    const again = await post(t, `/api/v1/items/${a.id}/complete`, { worker_id: "agent-1", result: { words: 4 } });
    expect([again.status, again.body.error.code]).toEqual([409, "jobs.lease_lost"]);

    const retried = await post(t, `/api/v1/items/${b.id}/fail`, { worker_id: "agent-1", error: { reason: "timeout" } });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: "pending", error: { reason: "timeout" }, claimed_by: null });
    await post(t, `/api/v1/jobs/${id}/claim`, { worker_id: "agent-2" });
    const failed = await post(t, `/api/v1/items/${b.id}/fail`, {
      worker_id: "agent-2",
      error: "gave up",
      retryable: false,
    });
    expect(failed.body).toMatchObject({ status: "failed", attempt: 2, error: { message: "gave up" } });

    expect(await job(t, id)).toMatchObject({
      status: "failed",
      counts: { done: 1, failed: 1 },
      credits: { reserved: 2, charged: 1, released: 1 },
    });
    const closed = await post(t, `/api/v1/jobs/${id}/claim`, { worker_id: "agent-1" });
    expect([closed.status, closed.body.error.code]).toEqual([409, "jobs.not_running"]);

    // Each item's status changes are in its history, by the agent's key, with worker and attempt.
    const historyOf = async (itemId: string) =>
      (
        await invoke("GET", `/api/v1/status_history/entity/job_item/${itemId}`, { key: t.keys.viewer.key })
      ).body.data.map((h: any) => [h.old_status, h.new_status, h.actor, h.reason, h.metadata]);
    const agent = `key:${t.keys.agent.id}`;
    const meta = (worker: string, attempt: number) => ({ job_id: id, attempt, worker_id: worker });
    expect(await historyOf(a.id)).toEqual([
      ["pending", "claimed", agent, null, meta("agent-1", 1)],
      ["claimed", "done", agent, null, meta("agent-1", 1)],
    ]);
    expect(await historyOf(b.id)).toEqual([
      ["pending", "claimed", agent, null, meta("agent-1", 1)],
      ["claimed", "pending", agent, null, meta("agent-1", 1)],
      ["pending", "claimed", agent, null, meta("agent-2", 2)],
      ["claimed", "failed", agent, null, meta("agent-2", 2)],
    ]);
  });

  it("completes a batch in one call: held items done and charged, the others refused per item; bad batches 400", async () => {
    const t = await tenant();
    const id = await spawn(t, { items: [{ input: 1 }, { input: 2 }, { input: 3 }], credits_per_item: 2 });
    const claimed = await post(t, `/api/v1/jobs/${id}/claim`, { worker_id: "agent-1", max_items: 2 });
    const [a, b] = claimed.body.items as { id: string }[];
    if (!a || !b) throw new Error("two items expected");
    const gone = randomUUID();
    const res = await post(t, "/api/v1/items/complete", {
      worker_id: "agent-1",
      items: [
        { id: a.id, result: { n: 1 } },
        { id: b.id, result: { n: 2 } },
        { id: gone, result: null },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.completed.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([
      [a.id, "done"],
      [b.id, "done"],
    ]);
    expect(res.body.refused).toEqual([
      { id: gone, error: { code: "jobs.item_not_found", message: `Item ${gone} not found` } },
    ]);
    expect(await job(t, id)).toMatchObject({ counts: { done: 2, pending: 1 }, credits: { charged: 4 } });
    // In the ledger: one charge for both, naming them in id order.
    const ledger = await invoke("GET", "/api/v1/credits/ledger", {
      key: t.keys.viewer.key,
      query: { job_id: id, kind: "charge" },
    });
    const both = [a.id, b.id].sort();
    expect(ledger.body.data).toEqual([
      expect.objectContaining({ kind: "charge", amount: 4, job_id: id, item_id: null, item_ids: both }),
    ]);

    for (const [body, field] of [
      [{ worker_id: "agent-1", items: [] }, "body.items"],
      [{ worker_id: "agent-1", items: [{ id: a.id }, { id: a.id }] }, "body.items"],
      [{ worker_id: "agent-1", items: Array.from({ length: 101 }, () => ({ id: randomUUID() })) }, "body.items"],
      [{ worker_id: "agent-1", items: [{ id: "nope" }] }, "body.items.0.id"],
      [{ items: [{ id: a.id }] }, "body.worker_id"],
    ] as const) {
      const bad = await post(t, "/api/v1/items/complete", body);
      expect(bad.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    expect(await job(t, id)).toMatchObject({ counts: { done: 2, pending: 1 }, credits: { charged: 4 } });
    const viewer = await invoke("POST", "/api/v1/items/complete", {
      key: t.keys.viewer.key,
      body: { worker_id: "agent-1", items: [{ id: a.id }] },
    });
    expect(viewer.status).toBe(403);
    expect((await post(t, `/api/v1/jobs/${id}/cancel`, {})).status).toBe(200);
  });

  it("refuses bad bodies (400), unknown items (404) and keys below agent (403)", async () => {
    const t = await tenant();
    const id = await spawn(t, { items: [{ input: 1 }] });
    const bad = await post(t, `/api/v1/jobs/${id}/claim`, { worker_id: "", max_items: 0, extra: true });
    expect(bad.status).toBe(400);
    const fields = bad.body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["body.max_items", "body.worker_id"]));
    const unknown = await post(t, `/api/v1/items/${randomUUID()}/complete`, { worker_id: "w" });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "jobs.item_not_found"]);
    const viewer = await invoke("POST", `/api/v1/jobs/${id}/claim`, {
      key: t.keys.viewer.key,
      body: { worker_id: "w" },
    });
    expect(viewer.status).toBe(403);
    expect((await post(t, `/api/v1/jobs/${id}/cancel`, {})).status).toBe(200);
  });
});

describe("the JobItems worker", () => {
  it("runs every item's skill once, charges each once and completes the job", async () => {
    const t = await tenant();
    const key = `n-${tag()}`;
    const id = await spawn(t, {
      task: "kv_store",
      items: Array.from({ length: 25 }, () => ({ input: { op: "incr", key } })),
      credits_per_item: 2,
    });
    const messages = await drain(25);
    expect(messages).toHaveLength(25);
    const claims = await sample('aos_job_claim_seconds_count{via="sqs"}');
    const done = await sample('aos_job_items_total{outcome="done"}');
    expect(await work(messages)).toEqual([]);
    // One claim statement per batch of 10 records (3 batches), not one per record.
    expect(await sample('aos_job_claim_seconds_count{via="sqs"}')).toBe(claims + 3);
    expect(await sample('aos_job_items_total{outcome="done"}')).toBe(done + 25);
    expect(await counter(t, key)).toBe(25);
    expect(await ledgerOf(id)).toEqual({ reserve: { n: 1, amount: 50 }, charge: { n: 25, amount: 50 } });
    // Each item charged once, by one charge row per batch of the job's successes (10, 10, 5).
    expect(await chargedItems(id)).toEqual({ items: messages.map((m) => m.itemId).sort(), rows: 3 });
    expect(await job(t, id)).toMatchObject({
      status: "completed",
      counts: { done: 25 },
      settled_at: expect.any(String),
    });
    const { rows } = await query<{ claimed_by: string; result: unknown }>(
      "select claimed_by, result from job_items where job_id = $1 order by idx limit 1",
      [id],
    );
    expect(rows[0]?.claimed_by).toMatch(/^sqs:/);
    expect(rows[0]?.result).toMatchObject({ op: "incr" });
  });

  it("groups a batch by tenant: one claim per tenant, each tenant's items done and charged to it", async () => {
    const [t1, t2] = [await tenant(), await tenant()];
    const [k1, k2] = [`g1-${tag()}`, `g2-${tag()}`];
    const id1 = await spawn(t1, { task: "kv_store", items: [1, 2, 3].map(() => ({ input: { op: "incr", key: k1 } })) });
    const m1 = await drain(3);
    const id2 = await spawn(t2, { task: "kv_store", items: [1, 2].map(() => ({ input: { op: "incr", key: k2 } })) });
    const m2 = await drain(2);
    expect(new Set(m1.map((m) => m.tenantId))).toEqual(new Set([t1.tenant.id]));
    const claims = await sample('aos_job_claim_seconds_count{via="sqs"}');
    // One batch, the tenants interleaved.
    expect(await work([m1[0]!, m2[0]!, m1[1]!, m2[1]!, m1[2]!])).toEqual([]);
    expect(await sample('aos_job_claim_seconds_count{via="sqs"}')).toBe(claims + 2);
    expect([await counter(t1, k1), await counter(t2, k2)]).toEqual([3, 2]);
    expect(await ledgerOf(id1)).toEqual({ reserve: { n: 1, amount: 3 }, charge: { n: 3, amount: 3 } });
    expect(await ledgerOf(id2)).toEqual({ reserve: { n: 1, amount: 2 }, charge: { n: 2, amount: 2 } });
  });

  it("accepts v0 messages still in the queue after a deploy ({job_id, item_id}), and records poison with its tenant", async () => {
    const t = await tenant();
    const key = `v0-${tag()}`;
    const id = await spawn(t, {
      task: "kv_store",
      items: [{ input: { op: "incr", key } }, { input: { op: "incr", key } }],
    });
    const messages = await drain(2);
    const v0 = messages.map((m) => ({ job_id: m.jobId, item_id: m.itemId }));
    const poison = { v: 1, tenantId: t.tenant.id, jobId: id, itemId: "not-a-uuid" };
    const event = sqsEvent([...v0, poison]);
    expect((await itemsHandler(event, lambdaContext())).batchItemFailures).toEqual([]);
    expect(await counter(t, key)).toBe(2);
    expect(await job(t, id)).toMatchObject({ status: "completed", counts: { done: 2 } });
    const { rows } = await query("select tenant_id, error_code from queue_failures where message_id = $1", [
      event.Records[2]!.messageId,
    ]);
    expect(rows).toEqual([{ tenant_id: t.tenant.id, error_code: "validation.invalid_input" }]);
  });

  it("a duplicate delivery (again, at once, or in the same batch) runs the skill once and charges once", async () => {
    const t = await tenant();
    const key = `dup-${tag()}`;
    const id = await spawn(t, { task: "kv_store", items: [{ input: { op: "incr", key } }] });
    const [message] = await drain(1);
    if (!message) throw new Error("no message sent");
    const [first, second] = await Promise.all([
      itemsHandler(sqsEvent([message, message]), lambdaContext()),
      itemsHandler(sqsEvent([message]), lambdaContext()),
    ]);
    expect([first.batchItemFailures, second.batchItemFailures]).toEqual([[], []]);
    expect(await work([message])).toEqual([]);
    expect(await counter(t, key)).toBe(1);
    expect(await ledgerOf(id)).toEqual({ reserve: { n: 1, amount: 1 }, charge: { n: 1, amount: 1 } });
  });

  it("acknowledges messages of a cancelled job without running anything", async () => {
    const t = await tenant();
    const key = `cancelled-${tag()}`;
    const id = await spawn(t, {
      task: "kv_store",
      items: [{ input: { op: "incr", key } }, { input: { op: "incr", key } }],
    });
    const messages = await drain(2);
    expect((await post(t, `/api/v1/jobs/${id}/cancel`, {})).body).toMatchObject({ cancelled_items: 2 });
    expect(await work(messages)).toEqual([]);
    expect(await counter(t, key)).toBeNull();
    expect(await ledgerOf(id)).toEqual({ reserve: { n: 1, amount: 2 }, refund: { n: 1, amount: 2 } });
  });

  it("a message redelivered after the worker died mid-item replays the skill's result instead of running it again", async () => {
    const t = await tenant();
    const key = `crash-${tag()}`;
    const id = await spawn(t, { task: "kv_store", items: [{ input: { op: "incr", key } }] });
    const [message] = await drain(1);
    if (!message) throw new Error("no message sent");
    // The dead worker's state: the item claimed by its message, the skill's side effect done.
    const messageId = randomUUID();
    await query(
      `update job_items set status = 'claimed', claimed_by = $2, attempt = 1, claimed_at = now(),
         lease_until = now() + interval '1 minute' where id = $1`,
      [message.itemId, `sqs:${messageId}`],
    );
    await withContext(
      { requestId: "dead", correlationId: "dead", actor: { type: "system", name: "job-items", tenantId: t.tenant.id } },
      () => Skills.execute("kv_store", { op: "incr", key }, { idempotencyKey: `job-item:${message.itemId}` }),
    );
    // Another message of the item finds it held (a live lease elsewhere): acknowledged, nothing run.
    expect(await work([message])).toEqual([]);
    expect((await job(t, id)).counts.claimed).toBe(1);
    // SQS redelivers the dead worker's own message: it takes the item up again.
    expect(await work([message], { messageId })).toEqual([]);
    expect(await counter(t, key)).toBe(1);
    expect(await ledgerOf(id)).toEqual({ reserve: { n: 1, amount: 1 }, charge: { n: 1, amount: 1 } });
    expect((await job(t, id)).status).toBe("completed");
  });

  it("an item whose earlier execution still holds its idempotency key waits for it, without spending an attempt", {
    timeout: 20_000,
  }, async () => {
    const t = await tenant();
    const key = `held-${tag()}`;
    const input = { op: "incr", key };
    const id = await spawn(t, { task: "kv_store", items: [{ input }], max_attempts: 1 });
    const [message] = await drain(1);
    if (!message) throw new Error("no message sent");
    // A worker that died mid-call: it took the item's idempotency key (lease 2 s) and never finished.
    const spec = Skills.spec("kv_store");
    await withContext(
      { requestId: "dead", correlationId: "dead", actor: { type: "system", name: "job-items", tenantId: t.tenant.id } },
      () =>
        SkillIdempotency.begin({
          skill: "kv_store",
          version: spec.version,
          key: `job-item:${message.itemId}`,
          argsHash: hashArgs(input),
          leaseMs: 2_000,
        }),
    );
    const sent = Date.now();
    // With max_attempts 1, counting this as an attempt would fail the item for good.
    expect(await work([message])).toEqual([]);
    const { rows } = await query<{ status: string; attempt: number; code: string }>(
      "select status, attempt, error->>'code' as code from job_items where id = $1",
      [message.itemId],
    );
    expect(rows[0]).toEqual({ status: "pending", attempt: 0, code: "skills.in_progress" });
    expect(await sample('aos_job_items_total{outcome="postponed"}')).toBeGreaterThan(0);
    // Its next message is held back by SQS until the key's lease ends (Retry-After), then it runs.
    const [next] = await drain(1);
    expect(next?.itemId).toBe(message.itemId);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(1_500);
    expect(await work([next])).toEqual([]);
    expect(await counter(t, key)).toBe(1);
    expect(await ledgerOf(id)).toEqual({ reserve: { n: 1, amount: 1 }, charge: { n: 1, amount: 1 } });
    expect(await job(t, id)).toMatchObject({ status: "completed", counts: { done: 1 } });
    // The postponement is in the item's history with its reason; the SQS worker acts as the system.
    const { rows: history } = await query<{ change: string; actor: string; reason: string | null }>(
      `select old_status || '>' || new_status as change, actor, reason from status_history
       where tenant_id = $1 and entity_type = 'job_item' and entity_id = $2 order by id`,
      [t.tenant.id, message.itemId],
    );
    expect(history).toEqual([
      { change: "pending>claimed", actor: "system:jobs", reason: null },
      { change: "claimed>pending", actor: "system:job-items", reason: "skills.in_progress" },
      { change: "pending>claimed", actor: "system:jobs", reason: null },
      { change: "claimed>done", actor: "system:job-items", reason: null },
    ]);
  });

  it("a retryable failure goes back to pending with a new message, then succeeds; a final one fails and releases", async () => {
    const t = await tenant();
    const key = `retry-${tag()}`;
    const text = `text-${tag()}`;
    await withContext(
      { requestId: "s", correlationId: "s", actor: { type: "system", name: "test", tenantId: t.tenant.id } },
      () => Skills.execute("kv_store", { op: "set", key: text, value: "not a number" }),
    );
    const id = await spawn(t, {
      task: "kv_store",
      items: [{ input: { op: "incr", key } }, { input: { op: "incr", key: text } }],
      max_attempts: 3,
    });
    const messages = await drain(2);
    // Redis down: kv_store answers 503 (retryable).
    await withConfig({ REDIS_URL: "redis://127.0.0.1:1" }, async () => {
      expect(await work(messages.slice(0, 2))).toEqual([]);
    });
    const { rows } = await query<{ idx: number; status: string; attempt: number; error: { code: string } }>(
      "select idx, status, attempt, error from job_items where job_id = $1 order by idx",
      [id],
    );
    expect(rows.map((r) => [r.status, r.attempt, r.error.code])).toEqual([
      ["pending", 1, "skills.kv_unavailable"],
      ["pending", 1, "skills.kv_unavailable"],
    ]);
    const resent = await drain(2);
    expect(resent.map((m) => m.itemId).sort()).toEqual(messages.map((m) => m.itemId).sort());
    // Redis back: the counter item succeeds; the other's incr of a text is final (400), so it fails.
    expect(await work(resent)).toEqual([]);
    expect(await counter(t, key)).toBe(1);
    const after = await job(t, id);
    expect(after).toMatchObject({
      status: "failed",
      counts: { done: 1, failed: 1 },
      credits: { charged: 1, released: 1 },
    });
  });

  it("the catalog spaces an item's retries: after Slack's 429 (slack.rate_limited, 1 s base) its next message is held back", async () => {
    const t = await tenant();
    const slack = trackServer(await startSlackServer());
    slack.always({ status: 429, body: "rate_limited" });
    const id = await spawn(t, { task: "slack_send", items: [{ input: { text: "hi" } }], max_attempts: 2 });
    const first = await drain(1);
    // The skill's own retries (the same entry's schedule) run inside the call; then the item's.
    await withConfig({ SLACK_WEBHOOK_URL: slack.url, SKILL_OUTBOUND_ALLOW_HOSTS: "" }, async () => {
      expect(await work(first)).toEqual([]);
      const t0 = Date.now();
      let again: Message[] = [];
      while (again.length === 0 && Date.now() - t0 < 10_000) again = await drain(1);
      const waited = Date.now() - t0;
      expect(again.map((m) => m.itemId)).toEqual(first.map((m) => m.itemId));
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(await work(again)).toEqual([]);
    });
    const { rows } = await query<{ status: string; attempt: number; error: { code: string } }>(
      "select status, attempt, error from job_items where job_id = $1",
      [id],
    );
    expect(rows.map((r) => [r.status, r.attempt, r.error.code])).toEqual([["failed", 2, "skills.upstream_error"]]);
  });

  it("an item retry's delay follows its entry's backoff: base doubling per attempt, capped, in whole seconds up to SQS's 900", () => {
    const b = { baseMs: 1000, maxMs: 20_000, maxAttempts: 4 };
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayS(b, a))).toEqual([1, 2, 4, 8, 16, 20]);
    expect(retryDelayS({ baseMs: 50, maxMs: 1000, maxAttempts: 4 }, 1)).toBe(1);
    expect(retryDelayS({ baseMs: 600_000, maxMs: 3_600_000, maxAttempts: 3 }, 3)).toBe(900);
  });

  it("max_attempts exhausted: the item fails and its credits are released", async () => {
    const t = await tenant();
    const id = await spawn(t, {
      task: "kv_store",
      items: [{ input: { op: "incr", key: `x-${tag()}` } }],
      max_attempts: 1,
    });
    const messages = await drain(1);
    await withConfig({ REDIS_URL: "redis://127.0.0.1:1" }, async () => {
      expect(await work(messages)).toEqual([]);
    });
    expect(await drain()).toEqual([]); // no retry sent
    expect(await job(t, id)).toMatchObject({ status: "failed", counts: { failed: 1 }, credits: { released: 1 } });
  });

  it("reports every record for retry when its bookkeeping cannot be done (database down)", async () => {
    const t = await tenant();
    const id = await spawn(t, { task: "kv_store", items: [{ input: { op: "get", key: "k" } }] });
    const messages = await drain(1);
    const dead = config().databaseUrl.replace(/:\d+\//, ":1/");
    const failures = await withConfig({ DATABASE_URL: dead }, async () => {
      const r = await itemsHandler(sqsEvent(messages), lambdaContext());
      return r.batchItemFailures;
    });
    expect(failures).toHaveLength(1);
    expect(await work(messages)).toEqual([]);
    expect((await job(t, id)).status).toBe("completed");
  });

  it("a send lost after commit: items stay unsent, the sweeper re-sends them, the worker completes the job", async () => {
    const t = await tenant();
    const key = `lost-${tag()}`;
    const urls = { ...config().sqs.queueUrls, JobItems: "http://127.0.0.1:1/000000000000/dead" };
    const id = await withConfig({ QUEUE_URLS: JSON.stringify(urls) }, () =>
      spawn(t, { task: "kv_store", items: Array.from({ length: 12 }, () => ({ input: { op: "incr", key } })) }),
    );
    const { rows } = await query<{ n: number }>(
      "select count(*)::int as n from job_items where job_id = $1 and status = 'pending' and enqueued_at is null",
      [id],
    );
    expect(rows[0]?.n).toBe(12);
    expect(await drain()).toEqual([]);
    // A fresh job's fan-out may still be under way: the sweeper leaves its unsent items alone.
    const early = await sweepHandler(scheduledEvent(), lambdaContext());
    expect(early).toMatchObject({ resent: 0 });
    await query("update jobs set created_at = created_at - interval '2 minutes' where id = $1", [id]);
    const swept = await sweepHandler(scheduledEvent(), lambdaContext());
    expect(swept).toMatchObject({ resent: 12 });
    expect(await sweepHandler(scheduledEvent(), lambdaContext())).toMatchObject({ resent: 0 });
    const messages = await drain(12);
    expect(messages).toHaveLength(12);
    expect(await work(messages)).toEqual([]);
    expect(await counter(t, key)).toBe(12);
    expect(await job(t, id)).toMatchObject({ status: "completed", counts: { done: 12 }, credits: { charged: 12 } });
  });
});
