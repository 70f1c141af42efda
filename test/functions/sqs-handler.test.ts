import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { config } from "../../core/config.ts";
import { useContext } from "../../core/context.ts";
import { backgroundPending, inBackground } from "../../core/platform/background.ts";
import { query } from "../../core/platform/db/index.ts";
import { renderMetrics } from "../../core/platform/metrics/index.ts";
import { done, permanent, retry } from "../../core/platform/queue-outcome.ts";
import { redis } from "../../core/platform/redis.ts";
import { cronHandler } from "../../functions/_lib/cron.ts";
import { sqsBatchHandler } from "../../functions/_lib/sqs.ts";
import { handler as events } from "../../functions/queue/events.ts";
import { lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";
import { withConfig } from "../setup/config-override.ts";

const Body = z.object({ n: z.number().int(), tenantId: z.uuid().optional() });

/** One queue name for every test (metrics bound a label's distinct values); rows are found by message id. */
const QUEUE = "Test";

/** A sample of the merged metrics (what GET /metrics shows), 0 when absent. */
async function sample(line: string): Promise<number> {
  const { body } = await renderMetrics();
  const found = body.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

/** The queue_failures rows of the event's records. */
const failuresOf = async (queue: string, event: { Records: { messageId: string }[] }) =>
  (
    await query<{ message_id: string; tenant_id: string | null; error_code: string; receive_count: number }>(
      `select message_id, tenant_id, error_code, receive_count from queue_failures
       where queue = $1 and message_id = any($2) order by id`,
      [queue, event.Records.map((r) => r.messageId)],
    )
  ).rows;

/** The records counted by outcome for `queue` so far. */
const counts = async (queue: string) => ({
  done: await sample(`aos_queue_records_total{outcome="done",queue="${queue}"}`),
  retry: await sample(`aos_queue_records_total{outcome="retry",queue="${queue}"}`),
  permanent: await sample(`aos_queue_records_total{outcome="permanent",queue="${queue}"}`),
  timed: await sample(`aos_queue_record_duration_seconds_count{queue="${queue}"}`),
});

const retried = (res: { batchItemFailures: { itemIdentifier: string }[] }) =>
  res.batchItemFailures.map((f) => f.itemIdentifier).sort();

describe("sqsBatchHandler: one record at a time", () => {
  it("takes each record's outcome as a value: done, retry (batchItemFailures), permanent (recorded, acked)", async () => {
    const queue = QUEUE;
    const tenant = randomUUID();
    const seen: number[] = [];
    const handler = sqsBatchHandler({
      queue,
      schema: Body,
      handle: async ({ n }) => {
        seen.push(n);
        if (n === 2) return retry("downstream unavailable");
        if (n === 3) return permanent("test.conflict", "can never succeed");
        return done();
      },
    });
    const event = sqsEvent([
      { n: 1 },
      { n: 2 },
      { n: 3, tenantId: tenant },
      { n: "not a number", tenantId: tenant },
      "{not json",
      { n: 4, tenantId: "not-a-uuid" },
    ]);
    const ids = event.Records.map((r) => r.messageId);
    const before = await counts(queue);
    const res = await handler(event, lambdaContext());
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect(retried(res)).toEqual([ids[1]]);
    // Poison is recorded with its tenant when the body names one (a malformed body, or a tenant
    // that is not a UUID, names none).
    expect((await failuresOf(queue, event)).map((r) => [r.message_id, r.tenant_id, r.error_code]).sort()).toEqual(
      [
        [ids[2], tenant, "test.conflict"],
        [ids[3], tenant, "validation.invalid_input"],
        [ids[4], null, "validation.invalid_input"],
        [ids[5], null, "validation.invalid_input"],
      ].sort(),
    );
    // The metrics say the same.
    const after = await counts(queue);
    expect({
      done: after.done - before.done,
      retry: after.retry - before.retry,
      permanent: after.permanent - before.permanent,
      timed: after.timed - before.timed,
    }).toEqual({ done: 1, retry: 1, permanent: 4, timed: 6 });
  });

  it("records a redelivered poison message once (its receive count updated), and never as a new failure", async () => {
    const queue = QUEUE;
    const tenant = randomUUID();
    const handler = sqsBatchHandler({ queue, schema: Body, handle: async () => permanent("test.bad", "bad") });
    const event = sqsEvent([{ n: 1, tenantId: tenant }]);
    expect(retried(await handler(event, lambdaContext()))).toEqual([]);
    const again = {
      Records: [
        { ...event.Records[0]!, attributes: { ...event.Records[0]!.attributes, ApproximateReceiveCount: "2" } },
      ],
    };
    expect(retried(await handler(again, lambdaContext()))).toEqual([]);
    expect(await failuresOf(queue, event)).toEqual([
      { message_id: event.Records[0]!.messageId, tenant_id: tenant, error_code: "test.bad", receive_count: 2 },
    ]);
  });

  it("retries a permanent failure it cannot record (database down) rather than lose it", async () => {
    const queue = QUEUE;
    const handler = sqsBatchHandler({ queue, schema: Body, handle: async () => done() });
    const event = sqsEvent(["{not json", { n: 1 }]);
    const dead = config().databaseUrl.replace(/:\d+\//, ":1/");
    const res = await withConfig({ DATABASE_URL: dead }, () => handler(event, lambdaContext()));
    expect(retried(res)).toEqual([event.Records[0]!.messageId]);
    expect(await failuresOf(queue, event)).toEqual([]);
  });

  it("a throw is retry for that record only; each record runs in its own request context", async () => {
    const queue = QUEUE;
    const contexts: [number, string | undefined][] = [];
    const handler = sqsBatchHandler({
      queue,
      schema: Body,
      handle: async ({ n }) => {
        contexts.push([n, useContext()?.requestId]);
        if (n === 2) throw new Error("unexpected bug");
        return done();
      },
    });
    const event = sqsEvent([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const ids = event.Records.map((r) => r.messageId);
    expect(retried(await handler(event, lambdaContext()))).toEqual([ids[1]]);
    expect(contexts.sort()).toEqual([
      [1, ids[0]],
      [2, ids[1]],
      [3, ids[2]],
    ]);
    expect(await failuresOf(queue, event)).toEqual([]);
  });

  it("an empty batch reports no failures", async () => {
    const handler = sqsBatchHandler({ queue: QUEUE, schema: Body, handle: async () => done() });
    expect(await handler({ Records: [] }, lambdaContext())).toEqual({ batchItemFailures: [] });
  });
});

describe("sqsBatchHandler: grouped", () => {
  const Msg = z.object({ tenantId: z.uuid(), n: z.number().int() });

  it("hands each group's parsed records over together, in order, and takes one outcome per record", async () => {
    const queue = QUEUE;
    const [a, b] = [randomUUID(), randomUUID()];
    const groups: number[][] = [];
    const handler = sqsBatchHandler({
      queue,
      schema: Msg,
      groupBy: (m) => m.tenantId,
      handleGroup: async (records) => {
        groups.push(records.map((r) => r.body.n));
        return records.map((r) => (r.body.n % 2 ? done() : retry("even")));
      },
    });
    const event = sqsEvent([
      { tenantId: a, n: 1 },
      { tenantId: b, n: 2 },
      { tenantId: a, n: 3 },
      { tenantId: a, n: 4 },
      { tenantId: b, n: 5 },
      { tenantId: a, n: "poison" },
    ]);
    const ids = event.Records.map((r) => r.messageId);
    const res = await handler(event, lambdaContext());
    // The poison record never reaches the group; it is recorded with its tenant.
    expect(groups.sort()).toEqual([
      [1, 3, 4],
      [2, 5],
    ]);
    expect(retried(res)).toEqual([ids[1], ids[3]].sort());
    expect((await failuresOf(queue, event)).map((r) => [r.message_id, r.tenant_id])).toEqual([[ids[5], a]]);
  });

  it("a throw retries every record of that group and no other; a missing outcome is a retry", async () => {
    const queue = QUEUE;
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const handler = sqsBatchHandler({
      queue,
      schema: Msg,
      groupBy: (m) => m.tenantId,
      handleGroup: async (records) => {
        const first = records[0]!.body;
        if (first.tenantId === a) throw new Error("the tenant's bookkeeping failed");
        // Tenant c's consumer forgets its second record.
        if (first.tenantId === c) return [done()];
        return records.map(() => done());
      },
    });
    const event = sqsEvent([
      { tenantId: a, n: 1 },
      { tenantId: b, n: 2 },
      { tenantId: a, n: 3 },
      { tenantId: c, n: 4 },
      { tenantId: c, n: 5 },
    ]);
    const ids = event.Records.map((r) => r.messageId);
    const before = await counts(queue);
    expect(retried(await handler(event, lambdaContext()))).toEqual([ids[0], ids[2], ids[4]].sort());
    expect(await failuresOf(queue, event)).toEqual([]);
    const after = await counts(queue);
    expect([after.retry - before.retry, after.done - before.done]).toEqual([3, 2]);
  });
});

describe("Events consumer", () => {
  it("evicts the auth cache entry of a revoked key, from a v1 event and from a v0 one still in the queue", async () => {
    for (const v of [{ v: 1 }, {}]) {
      await redis().set("auth:abcdefabcdef", "{}");
      const res = await events(
        sqsEvent([{ ...v, type: "key.revoked", tenantId: randomUUID(), keyId: randomUUID(), prefix: "abcdefabcdef" }]),
        lambdaContext(),
      );
      expect(res.batchItemFailures).toEqual([]);
      expect(await redis().get("auth:abcdefabcdef")).toBeNull();
    }
  });

  it("records an event of an unknown version or type as poison, with its tenant", async () => {
    const tenant = randomUUID();
    const event = sqsEvent([
      { v: 2, type: "key.revoked", tenantId: tenant, keyId: randomUUID(), prefix: "abcdefabcdef" },
      { v: 1, type: "key.renamed", tenantId: tenant },
    ]);
    expect((await events(event, lambdaContext())).batchItemFailures).toEqual([]);
    const { rows } = await query<{ tenant_id: string }>(
      "select tenant_id from queue_failures where queue = 'Events' and message_id = any($1)",
      [event.Records.map((r) => r.messageId)],
    );
    expect(rows).toEqual([{ tenant_id: tenant }, { tenant_id: tenant }]);
  });
});

describe("cronHandler", () => {
  it("returns the job's result and rethrows its failure", async () => {
    const ok = cronHandler("TestOk", async () => ({ done: 3 }));
    expect(await ok(scheduledEvent(), lambdaContext())).toEqual({ done: 3 });
    const bad = cronHandler("TestBad", async () => {
      throw new Error("boom");
    });
    await expect(bad(scheduledEvent(), lambdaContext())).rejects.toThrow("boom");
  });
});

describe("work a handler leaves in the background (core/platform/background.ts)", () => {
  const later = (ms: number, flags: string[], name: string) =>
    new Promise<void>((r) => setTimeout(r, ms)).then(() => {
      flags.push(name);
    });

  it("is finished before an SQS batch's or a cron run's invocation returns, also when the handler throws", async () => {
    const flags: string[] = [];
    const consumer = sqsBatchHandler({
      queue: "Fixture",
      schema: z.object({ n: z.number() }),
      handle: async () => {
        inBackground(later(150, flags, "sqs"));
        return done();
      },
    });
    await consumer(sqsEvent([{ n: 1 }]), lambdaContext());
    expect(flags).toEqual(["sqs"]);
    const cron = cronHandler("TestBackground", async () => {
      inBackground(later(150, flags, "cron"));
      throw new Error("after starting it");
    });
    await expect(cron(scheduledEvent(), lambdaContext())).rejects.toThrow("after starting it");
    expect(flags).toEqual(["sqs", "cron"]);
    expect(backgroundPending()).toBe(0);
  });
});
