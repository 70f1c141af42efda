import { afterAll, afterEach, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { type Clock, setClock, systemClock } from "../../core/platform/clock.ts";
import { checkSqs, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, sendMessage, sendMessages } from "../../core/platform/queue.ts";
import { withConfig } from "../setup/config-override.ts";
import { type HttpProxy, type ProxiedRequest, startHttpProxy } from "../setup/http-proxy.ts";
import { closedPort } from "../setup/net.ts";
import { receiveBatch, sqsReader } from "../setup/sqs-reader.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
afterEach(async () => {
  setClock(systemClock);
  await drain("Events");
});

/** Receive (and delete) messages until `want` arrived or the queue stays empty for a poll. */
async function receiveAll(queue: string, want = Number.POSITIVE_INFINITY): Promise<unknown[]> {
  const sqs = sqsReader();
  const out: unknown[] = [];
  try {
    while (out.length < want) {
      const got = await receiveBatch(sqs, queue, want === Infinity ? 0 : 1);
      if (got.length === 0) break;
      out.push(...got);
    }
    return out;
  } finally {
    sqs.destroy();
  }
}

const drain = (queue: string) => receiveAll(queue);

async function sqsProxy(): Promise<HttpProxy> {
  const proxy = await startHttpProxy(config().sqs.endpoint as string);
  cleanups.push(() => proxy.close());
  return proxy;
}

const batchCalls = (p: HttpProxy) =>
  p.requests.filter((r) => r.headers["x-amz-target"] === "AmazonSQS.SendMessageBatch");
const entriesOf = (r: ProxiedRequest) =>
  (JSON.parse(r.body.toString()) as { Entries: { Id: string; MessageBody: string }[] }).Entries;

/** Forward the batch without the entries `fail` picks, and report those as failed by SQS. */
function failEntries(
  req: ProxiedRequest,
  fail: (id: string) => boolean,
  { code = "InternalError", senderFault = false, message = "We encountered an internal error" } = {},
) {
  const body = JSON.parse(req.body.toString()) as { Entries: { Id: string }[] };
  const dropped = body.Entries.filter((e) => fail(e.Id)).map((e) => e.Id);
  body.Entries = body.Entries.filter((e) => !fail(e.Id));
  const failed = dropped.map((Id) => ({ Id, SenderFault: senderFault, Code: code, Message: message }));
  if (body.Entries.length === 0) {
    const reply = { status: 200, headers: { "content-type": "application/x-amz-json-1.0" } };
    return { reply: { ...reply, body: JSON.stringify({ Successful: [], Failed: failed }) } };
  }
  return {
    forwardBody: JSON.stringify(body),
    rewrite: (_status: number, raw: Buffer) => {
      const r = JSON.parse(raw.toString()) as { Successful?: unknown[]; Failed?: unknown[] };
      return JSON.stringify({ Successful: r.Successful ?? [], Failed: [...(r.Failed ?? []), ...failed] });
    },
  };
}

/** Records every backoff the queue module asks the clock for, then sleeps for real. */
function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => systemClock.now(),
    nowMs: () => systemClock.nowMs(),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return systemClock.sleep(ms, signal);
    },
  };
}

describe("sendMessages", () => {
  it("sends 25 messages in 3 batches (10, 10, 5) and every one arrives", async () => {
    const proxy = await sqsProxy();
    const bodies = Array.from({ length: 25 }, (_, i) => ({ type: "test.item", i }));
    const r = await withConfig({ SQS_ENDPOINT: proxy.url }, () => sendMessages("Events", bodies));
    expect(r).toEqual({ sent: 25, failed: [] });
    expect(batchCalls(proxy).map((c) => entriesOf(c).length)).toEqual([10, 10, 5]);
    const got = (await receiveAll("Events", 25)) as { i: number }[];
    expect(got.map((m) => m.i).sort((a, b) => a - b)).toEqual(bodies.map((b) => b.i));
  });

  it("rejects a message over 256 KiB before sending anything, and accepts one of exactly 256 KiB", async () => {
    const proxy = await sqsProxy();
    // JSON.stringify adds the two quotes: a string of n characters is n + 2 bytes.
    const exact = "x".repeat(MAX_MESSAGE_BYTES - 2);
    const over = "x".repeat(MAX_MESSAGE_BYTES - 1);
    await withConfig({ SQS_ENDPOINT: proxy.url }, async () => {
      const err = await sendMessages("Events", [{ small: true }, over]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({
        kind: "validation",
        code: "queue.message_too_large",
        details: { index: 1, bytes: MAX_MESSAGE_BYTES + 1, limit: MAX_MESSAGE_BYTES },
      });
      expect(proxy.requests).toHaveLength(0);
      expect(await sendMessages("Events", [exact])).toEqual({ sent: 1, failed: [] });
    });
    const got = await receiveAll("Events", 1);
    expect(got).toEqual([exact]); // the small one of the rejected call was not sent either
  });

  it("splits batches by total size as well as by count", async () => {
    const proxy = await sqsProxy();
    const bodies = Array.from({ length: 5 }, (_, i) => ({ i, pad: "p".repeat(100_000) }));
    const r = await withConfig({ SQS_ENDPOINT: proxy.url }, () => sendMessages("Events", bodies));
    expect(r).toEqual({ sent: 5, failed: [] });
    const calls = batchCalls(proxy);
    expect(calls.map((c) => entriesOf(c).length)).toEqual([2, 2, 1]);
    for (const c of calls) {
      const total = entriesOf(c).reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0);
      expect(total).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
    expect(await receiveAll("Events", 5)).toHaveLength(5);
  });

  it("retries entries SQS reports as failed (not the sender's fault) with jittered backoff on the clock", async () => {
    const proxy = await sqsProxy();
    proxy.intercept = (req) =>
      req.headers["x-amz-target"] === "AmazonSQS.SendMessageBatch" && batchCalls(proxy).length === 1
        ? failEntries(req, (id) => id === "1" || id === "3")
        : undefined;
    const c = recordingClock();
    setClock(c);
    const bodies = Array.from({ length: 5 }, (_, i) => ({ i }));
    const r = await withConfig({ SQS_ENDPOINT: proxy.url }, () => sendMessages("Events", bodies));
    expect(r).toEqual({ sent: 5, failed: [] });
    const calls = batchCalls(proxy);
    expect(calls).toHaveLength(2);
    expect(entriesOf(calls[1] as ProxiedRequest).map((e) => e.Id)).toEqual(["1", "3"]);
    expect(c.sleeps).toHaveLength(1);
    expect(c.sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(c.sleeps[0]).toBeLessThan(150);
    const got = (await receiveAll("Events", 5)) as { i: number }[];
    expect(got.map((m) => m.i).sort()).toEqual([0, 1, 2, 3, 4]); // each exactly once
  });

  it("gives up on an entry after maxAttempts and reports it, sending the rest", async () => {
    const proxy = await sqsProxy();
    proxy.intercept = (req) =>
      req.headers["x-amz-target"] === "AmazonSQS.SendMessageBatch" ? failEntries(req, (id) => id === "2") : undefined;
    const r = await withConfig({ SQS_ENDPOINT: proxy.url }, () =>
      sendMessages("Events", [{ i: 0 }, { i: 1 }, { i: 2 }], { maxAttempts: 3 }),
    );
    expect(r).toEqual({
      sent: 2,
      failed: [{ index: 2, code: "InternalError", message: "We encountered an internal error", senderFault: false }],
    });
    expect(batchCalls(proxy).map((c) => entriesOf(c).map((e) => e.Id))).toEqual([["0", "1", "2"], ["2"], ["2"]]);
    expect(await receiveAll("Events", 2)).toHaveLength(2);
  });

  it("does not retry an entry SQS rejects as the sender's fault, and reports it", async () => {
    const proxy = await sqsProxy();
    proxy.intercept = (req) =>
      req.headers["x-amz-target"] === "AmazonSQS.SendMessageBatch"
        ? failEntries(req, (id) => id === "1", {
            code: "InvalidParameterValue",
            senderFault: true,
            message: "One or more parameters are invalid",
          })
        : undefined;
    const r = await withConfig({ SQS_ENDPOINT: proxy.url }, () => sendMessages("Events", ["fine", "bad", "also fine"]));
    expect(r).toEqual({
      sent: 2,
      failed: [
        { index: 1, code: "InvalidParameterValue", message: "One or more parameters are invalid", senderFault: true },
      ],
    });
    expect(batchCalls(proxy)).toHaveLength(1);
    expect((await receiveAll("Events", 2)).sort()).toEqual(["also fine", "fine"]);
  });

  it("sends characters SQS or fauxqs would refuse raw (U+FFFF, emoji) escaped, and they come back intact", async () => {
    const body = { text: "party \u{1F389} and \uFFFF and \uFFFE", lone: "\uD800" };
    expect(await sendMessages("Events", [body])).toEqual({ sent: 1, failed: [] });
    expect(await receiveAll("Events", 1)).toEqual([body]);
  });

  it("retries a whole batch call that failed with HTTP 500", async () => {
    const proxy = await sqsProxy();
    proxy.intercept = (req) =>
      req.headers["x-amz-target"] === "AmazonSQS.SendMessageBatch" && batchCalls(proxy).length === 1
        ? {
            reply: {
              status: 500,
              headers: { "content-type": "application/x-amz-json-1.0" },
              body: JSON.stringify({ __type: "com.amazonaws.sqs#InternalError", message: "boom" }),
            },
          }
        : undefined;
    const r = await withConfig({ SQS_ENDPOINT: proxy.url }, () => sendMessages("Events", [{ a: 1 }, { a: 2 }]));
    expect(r).toEqual({ sent: 2, failed: [] });
    expect(batchCalls(proxy)).toHaveLength(2);
    expect(await receiveAll("Events", 2)).toHaveLength(2);
  });

  it("throws unavailable when SQS cannot be reached at all", async () => {
    const port = await closedPort();
    const c = recordingClock();
    setClock(c);
    const err = await withConfig({ SQS_ENDPOINT: `http://127.0.0.1:${port}` }, () =>
      sendMessages("Events", [{ a: 1 }], { maxAttempts: 2 }).catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ kind: "unavailable", code: "queue.unavailable", retryable: true });
    expect((err as AppError).details).toMatchObject({
      queue: "Events",
      failed: [{ index: 0, code: "ECONNREFUSED", senderFault: false }],
    });
    expect(c.sleeps).toHaveLength(1); // two attempts, one backoff between them
  });

  it("names an unknown queue", async () => {
    const err = await sendMessages("Nope", [{}]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "queue.unknown" });
    expect((err as Error).message).toContain('Unknown queue "Nope"');
    expect((err as Error).message).toContain("known: Events, EventsDlq");
  });

  it("returns at once for no bodies, and refuses what JSON cannot carry", async () => {
    expect(await sendMessages("Events", [])).toEqual({ sent: 0, failed: [] });
    await expect(sendMessages("Events", [undefined])).rejects.toMatchObject({ kind: "validation" });
    await expect(sendMessages("Events", [{ n: 1n }])).rejects.toMatchObject({ kind: "validation" });
    await expect(sendMessages("Events", [{}], { delayS: 901 })).rejects.toMatchObject({ code: "queue.invalid_delay" });
  });
});

describe("sendMessage", () => {
  it("sends one message", async () => {
    await sendMessage("Events", { one: true });
    expect(await receiveAll("Events", 1)).toEqual([{ one: true }]);
  });

  it("throws validation when SQS rejects the message as the sender's fault", async () => {
    const proxy = await sqsProxy();
    proxy.intercept = (req) =>
      req.headers["x-amz-target"] === "AmazonSQS.SendMessageBatch"
        ? failEntries(req, () => true, {
            code: "InvalidMessageContents",
            senderFault: true,
            message: "Invalid characters",
          })
        : undefined;
    const err = await withConfig({ SQS_ENDPOINT: proxy.url }, () =>
      sendMessage("Events", "x").catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ kind: "validation", code: "queue.message_rejected" });
    expect((err as Error).message).toContain("InvalidMessageContents");
  });
});

describe("checkSqs", () => {
  it("passes when every configured queue answers", async () => {
    await expect(checkSqs()).resolves.toBeUndefined();
  });

  it("names the queue that does not exist", async () => {
    const urls = { ...config().sqs.queueUrls, Ghost: `${config().sqs.queueUrls.Events}-ghost` };
    const err = await withConfig({ QUEUE_URLS: JSON.stringify(urls) }, () => checkSqs().catch((e: unknown) => e));
    expect(err).toMatchObject({ kind: "unavailable", code: "queue.unavailable" });
    expect((err as Error).message).toMatch(/Ghost \(/);
    expect((err as Error).message).not.toMatch(/Events/);
  });
});
