/**
 * Lambda's SQS event source mapping, for one queue: long-poll, gather a batch (up to
 * `batchSize`, waiting at most `batchWindowS` to fill it), call the consumer, delete what
 * succeeded. A message left undeleted comes back once its visibility timeout ends, and the
 * queue's redrive policy moves it to the DLQ after `maxReceiveCount` receives, as in AWS.
 * One batch at a time per queue; `signal` stops the loop (the batch under way finishes).
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { log } from "../core/platform/logger.ts";
import type { QueueConsumer } from "../functions/routes.ts";
import type { Invoker } from "./invoke.ts";
import { LOCAL_ACCOUNT_ID } from "./lambda-context.ts";
import { interpretBatchResponse, toSqsRecord } from "./sqs-event.ts";

export interface PollerOptions {
  consumer: QueueConsumer;
  queueUrl: string;
  sqs: SQSClient;
  invoker: Invoker;
  region: string;
  signal: AbortSignal;
  /** Long-poll wait, 1..20 s (default 20). */
  waitTimeS?: number;
}

export interface BatchReport {
  received: number;
  deleted: number;
  verdict: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

async function queueArn(o: PollerOptions): Promise<string> {
  try {
    const r = await o.sqs.send(new GetQueueAttributesCommand({ QueueUrl: o.queueUrl, AttributeNames: ["QueueArn"] }));
    if (r.Attributes?.QueueArn) return r.Attributes.QueueArn;
  } catch {}
  const name = o.queueUrl.slice(o.queueUrl.lastIndexOf("/") + 1);
  return `arn:aws:sqs:${o.region}:${LOCAL_ACCOUNT_ID}:${name}`;
}

/** One ReceiveMessage, or several within the batch window (counted from the first message) until the batch is full. */
async function receiveBatch(o: PollerOptions): Promise<Message[]> {
  const { batchSize, batchWindowS } = o.consumer;
  const out: Message[] = [];
  let windowEnds = 0;
  while (out.length < batchSize && !o.signal.aborted) {
    const first = out.length === 0;
    const wait = first ? (o.waitTimeS ?? 20) : Math.ceil((windowEnds - Date.now()) / 1000);
    if (!first && wait <= 0) break;
    let got: Message[];
    try {
      const r = await o.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: o.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - out.length),
          WaitTimeSeconds: Math.min(20, wait),
          AttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
        { abortSignal: o.signal },
      );
      got = r.Messages ?? [];
    } catch (e) {
      // Messages already received are invisible to everyone else: hand them over, never drop them.
      if (!first) break;
      throw e;
    }
    if (first && got.length) windowEnds = Date.now() + batchWindowS * 1000;
    out.push(...got);
    if (out.length && (batchWindowS === 0 || got.length === 0)) break;
    if (!out.length && batchWindowS === 0) break;
  }
  return out;
}

async function deleteMessages(o: PollerOptions, messages: Message[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    const r = await o.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: o.queueUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    deleted += r.Successful?.length ?? 0;
    for (const f of r.Failed ?? []) {
      log.warn("could not delete a processed message", { queue: o.consumer.name, code: f.Code, message: f.Message });
    }
  }
  return deleted;
}

/** Call the consumer with one batch and settle it; exported for tests. */
export async function processBatch(o: PollerOptions, messages: Message[], arn: string): Promise<BatchReport> {
  const records = messages.map((m) => toSqsRecord(m, arn, o.region));
  const fn = { handler: o.consumer.handler, timeoutS: o.consumer.timeoutS };
  const outcome = await o.invoker.invoke(fn, { Records: records });
  const ids = records.map((r) => r.messageId);
  let verdict =
    outcome.status === "ok"
      ? interpretBatchResponse(outcome.result, ids)
      : ({ kind: "all-failed", reason: outcome.status === "timeout" ? "timed out" : "threw" } as const);
  if (verdict.kind === "all-failed") {
    const err = outcome.status === "error" ? outcome.error : undefined;
    log.error("queue batch failed; every message will be retried", {
      queue: o.consumer.name,
      handler: o.consumer.handler,
      reason: verdict.reason,
      size: records.length,
      err,
    });
    return { received: records.length, deleted: 0, verdict: `all-failed: ${verdict.reason}` };
  }
  const failed = verdict.kind === "partial" ? verdict.failed : new Set<string>();
  const done = messages.filter((m) => !failed.has(m.MessageId ?? ""));
  const deleted = await deleteMessages(o, done);
  verdict = verdict.kind === "partial" ? verdict : { kind: "all-succeeded" };
  return { received: records.length, deleted, verdict: verdict.kind };
}

/** Runs until `signal` aborts; never throws. */
export async function runPoller(o: PollerOptions): Promise<void> {
  const arn = await queueArn(o);
  let backoffMs = 0;
  while (!o.signal.aborted) {
    try {
      const messages = await receiveBatch(o);
      backoffMs = 0;
      if (messages.length) await processBatch(o, messages, arn);
    } catch (e) {
      if (o.signal.aborted) break;
      backoffMs = Math.min(30_000, Math.max(500, backoffMs * 2));
      log.warn("queue poll failed; retrying", { queue: o.consumer.name, retryInMs: backoffMs, err: e });
      await sleep(backoffMs, o.signal);
    }
  }
}
