import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, UnavailableError } from "../../core/errors.ts";
import { query } from "../../core/platform/db/index.ts";
import { redis } from "../../core/platform/redis.ts";
import { cronHandler } from "../../functions/_lib/cron.ts";
import { sqsHandler } from "../../functions/_lib/sqs.ts";
import { handler as events } from "../../functions/queue/events.ts";
import { lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";

const Body = z.object({ n: z.number().int(), tenantId: z.uuid().optional() });

describe("sqsHandler", () => {
  it("gives every record an explicit outcome: done, retry (batchItemFailures) or permanent (recorded, acked)", async () => {
    const seen: number[] = [];
    const handler = sqsHandler({ queue: "Test", body: Body }, async ({ n }) => {
      if (n === 2) throw new UnavailableError("test.down", "downstream unavailable");
      if (n === 3) throw new AppError("conflict", "test.conflict", "can never succeed");
      if (n === 4) throw new Error("unexpected bug");
      seen.push(n);
    });
    const event = sqsEvent([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: "not a number" }, "{not json"]);
    const ids = event.Records.map((r) => r.messageId);
    const res = await handler(event, lambdaContext());
    expect(seen).toEqual([1]);
    // Transient (unavailable) and unknown errors are retried by SQS; the rest are permanent.
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([ids[1], ids[3]].sort());
    const { rows } = await query<{ message_id: string; error_code: string }>(
      "select message_id, error_code from queue_failures where queue = 'Test' order by error_code",
    );
    expect(rows.map((r) => [r.message_id, r.error_code]).sort()).toEqual(
      [
        [ids[2], "test.conflict"],
        [ids[4], "validation.invalid_input"],
        [ids[5], "validation.invalid_input"],
      ].sort(),
    );
    // A redelivery of a permanently failed record is recorded once.
    await handler({ Records: [event.Records[2]!] }, lambdaContext());
    const again = await query("select 1 from queue_failures where message_id = $1", [ids[2]]);
    expect(again.rowCount).toBe(1);
  });

  it("an empty batch reports no failures", async () => {
    const handler = sqsHandler({ queue: "Test", body: Body }, async () => {});
    expect(await handler({ Records: [] }, lambdaContext())).toEqual({ batchItemFailures: [] });
  });
});

describe("Events consumer", () => {
  it("evicts the auth cache entry of a revoked key", async () => {
    await redis().set("auth:abcdefabcdef", "{}");
    const res = await events(
      sqsEvent([
        { type: "key.revoked", tenantId: crypto.randomUUID(), keyId: crypto.randomUUID(), prefix: "abcdefabcdef" },
      ]),
      lambdaContext(),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(await redis().get("auth:abcdefabcdef")).toBeNull();
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
