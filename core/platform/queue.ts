/**
 * SQS producer. Bodies are JSON; queues are named as in functions/routes.ts and resolved through
 * `config().sqs.queueUrls`. Messages go out with SendMessageBatch, split by count (10) and by
 * total size (256 KiB per batch); entries SQS reports as failed for its own reasons are retried
 * with jittered backoff (on the clock port), entries it rejects as the sender's fault are not.
 *
 * The SDK is loaded with `import()` on the first send and the client is created once per
 * process, so importing this module costs a handler nothing at cold start. The client makes one
 * attempt per call (`maxAttempts: 1`): this module's loop is the only retry policy, so retries
 * do not multiply and their backoff goes through `clock()`.
 *
 * @example
 *   afterCommit(() => sendMessages("Events", items.map((i) => ({ type: "item.created", id: i.id }))));
 */
import { setMaxListeners } from "node:events";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { config } from "../config.ts";
import { AppError, ValidationError } from "../errors.ts";
import { awsClientOptions, httpStatusOf, isTransientAwsError, sdkErrorName } from "./aws.ts";
import { clock } from "./clock.ts";
import { eachLimited } from "./concurrency.ts";
import { type Entry, MAX_MESSAGE_BYTES, serialize, splitBatches } from "./queue-batches.ts";

export { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, splitBatches } from "./queue-batches.ts";

type SqsSdk = typeof import("@aws-sdk/client-sqs");
interface Sqs {
  sdk: SqsSdk;
  client: SQSClient;
}

const DEFAULT_ATTEMPTS = 4;
/** Batches sent at once to a standard queue; FIFO queues get one at a time to keep order. */
const CONCURRENCY = 4;

let sqsPromise: Promise<Sqs> | undefined;

function sqs(): Promise<Sqs> {
  sqsPromise ??= (async () => {
    const sdk = await import("@aws-sdk/client-sqs");
    const c = config().sqs;
    const client = new sdk.SQSClient({ ...awsClientOptions(c.endpoint, c.region), maxAttempts: 1 });
    return { sdk, client };
  })().catch((e: unknown) => {
    sqsPromise = undefined;
    throw e;
  });
  return sqsPromise;
}

/** Drop the client (tests and the local runtime call it after changing the configuration). */
export async function closeSqs(): Promise<void> {
  const p = sqsPromise;
  sqsPromise = undefined;
  if (p) (await p.catch(() => undefined))?.client.destroy();
}

/** The URL of a queue named in functions/routes.ts (`Events`, `EventsDlq`). */
export function queueUrl(queue: string): string {
  const urls = config().sqs.queueUrls;
  const url = urls[queue];
  if (!url) {
    const known = Object.keys(urls).join(", ") || "none";
    throw new AppError(
      "internal",
      "queue.unknown",
      `Unknown queue "${queue}": neither QUEUE_URLS nor an SST link ${queue}Queue gives its URL (known: ${known})`,
      { retryable: false },
    );
  }
  return url;
}

export interface SendOptions {
  /** Seconds before the messages become visible, 0 to 900 (standard queues only). */
  delayS?: number;
  /** FIFO queues: the message group of every message. */
  groupId?: string;
  /** FIFO queues: one deduplication id per body, in the same order. */
  dedupeIds?: readonly string[];
  /** Attempts per message before it is reported as failed (default 4). */
  maxAttempts?: number;
}

export interface SendFailure {
  /** Position of the body in the `bodies` argument. */
  index: number;
  /** SQS's error code (`InvalidMessageContents`, `InternalError`) or the network error's. */
  code: string;
  message: string;
  /** SQS said the message itself is at fault: sending it again would fail again. */
  senderFault: boolean;
}

export interface SendResult {
  sent: number;
  failed: SendFailure[];
}

/** Delay before attempt `attempt + 1`: 100 ms doubling to at most 2 s, with +-50 % jitter. */
function backoffMs(attempt: number): number {
  return Math.min(2000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random());
}

/**
 * Send JSON bodies to `queue`. Every body is checked against SQS's 256 KiB limit before
 * anything is sent (`validation`, `queue.message_too_large`). Returns how many were accepted and
 * which were not; throws `unavailable` (`queue.unavailable`) when none could be sent because SQS
 * could not be reached or kept failing.
 */
export async function sendMessages(
  queue: string,
  bodies: readonly unknown[],
  opts: SendOptions = {},
): Promise<SendResult> {
  const url = queueUrl(queue);
  const maxAttempts = opts.maxAttempts ?? DEFAULT_ATTEMPTS;
  if (opts.delayS !== undefined && (!Number.isInteger(opts.delayS) || opts.delayS < 0 || opts.delayS > 900)) {
    throw new ValidationError("delayS must be an integer from 0 to 900", [], "queue.invalid_delay");
  }
  if (opts.dedupeIds && opts.dedupeIds.length !== bodies.length) {
    throw new ValidationError("dedupeIds must have one id per body", [], "queue.invalid_dedupe_ids");
  }
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError("maxAttempts must be a positive integer", [], "queue.invalid_attempts");
  }
  const entries = bodies.map(serialize);
  const tooBig = entries.find((e) => e.bytes > MAX_MESSAGE_BYTES);
  if (tooBig) {
    throw new AppError(
      "validation",
      "queue.message_too_large",
      `message ${tooBig.index} is ${tooBig.bytes} bytes; SQS takes at most ${MAX_MESSAGE_BYTES}. Store the payload in S3 and send its key.`,
      { details: { index: tooBig.index, bytes: tooBig.bytes, limit: MAX_MESSAGE_BYTES } },
    );
  }
  const result: SendResult = { sent: 0, failed: [] };
  if (entries.length === 0) return result;

  const { sdk, client } = await sqs();
  const fifo = url.endsWith(".fifo") || opts.groupId !== undefined;
  let pending = entries;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: SendFailure[] = [];
    const retryEntries: Entry[] = [];
    const again = (e: Entry, code: string, message: string) => {
      retry.push({ index: e.index, code, message, senderFault: false });
      retryEntries.push(e);
    };
    await eachLimited(splitBatches(pending), fifo ? 1 : CONCURRENCY, async (batch) => {
      const byId = new Map(batch.map((e) => [String(e.index), e]));
      try {
        const r = await client.send(
          new sdk.SendMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((e) => ({
              Id: String(e.index),
              MessageBody: e.body,
              DelaySeconds: opts.delayS,
              MessageGroupId: opts.groupId,
              MessageDeduplicationId: opts.dedupeIds?.[e.index],
            })),
          }),
        );
        for (const ok of r.Successful ?? []) {
          if (byId.delete(ok.Id ?? "")) result.sent++;
        }
        for (const f of r.Failed ?? []) {
          const e = byId.get(f.Id ?? "");
          if (!e) continue;
          byId.delete(f.Id ?? "");
          const code = f.Code ?? "Unknown";
          if (f.SenderFault) result.failed.push({ index: e.index, code, message: f.Message ?? "", senderFault: true });
          else again(e, code, f.Message ?? "");
        }
        // An entry in neither list was not acknowledged: send it again.
        for (const e of byId.values()) again(e, "NotAcknowledged", "SQS reported neither success nor failure");
      } catch (err) {
        const code = sdkErrorName(err);
        const status = httpStatusOf(err);
        const message = `SendMessageBatch failed${status ? ` with HTTP ${status}` : ""}: ${code}`;
        for (const e of batch) {
          if (isTransientAwsError(err)) again(e, code, message);
          else result.failed.push({ index: e.index, code, message, senderFault: false });
        }
      }
    });
    if (retry.length === 0) break;
    if (attempt >= maxAttempts) {
      result.failed.push(...retry);
      break;
    }
    await clock().sleep(backoffMs(attempt));
    pending = retryEntries;
  }
  result.failed.sort((a, b) => a.index - b.index);
  if (result.sent === 0 && result.failed.every((f) => !f.senderFault)) {
    const first = result.failed[0];
    throw new AppError(
      "unavailable",
      "queue.unavailable",
      `Could not send to queue ${queue}: ${first?.message ?? "no message was accepted"}`,
      {
        details: { queue, failed: result.failed },
        retryable: result.failed.some((f) => f.code !== "QueueDoesNotExist"),
      },
    );
  }
  return result;
}

/**
 * Send one JSON body. Throws `validation` (`queue.message_rejected`) when SQS rejects the message
 * itself, `unavailable` when it cannot be sent.
 */
export async function sendMessage(
  queue: string,
  body: unknown,
  opts: Omit<SendOptions, "dedupeIds"> & { dedupeId?: string } = {},
): Promise<void> {
  const { dedupeId, ...rest } = opts;
  const r = await sendMessages(queue, [body], { ...rest, dedupeIds: dedupeId === undefined ? undefined : [dedupeId] });
  const f = r.failed[0];
  if (f) {
    throw new AppError(
      f.senderFault ? "validation" : "unavailable",
      f.senderFault ? "queue.message_rejected" : "queue.unavailable",
      `SQS did not accept the message for ${queue}: ${f.code} ${f.message}`.trim(),
      { details: { queue, code: f.code } },
    );
  }
}

/** Health: every configured queue answers GetQueueAttributes. Throws naming the queues that do not. */
export async function checkSqs(signal?: AbortSignal): Promise<void> {
  const queues = Object.entries(config().sqs.queueUrls);
  if (queues.length === 0) return;
  const { sdk, client } = await sqs();
  // The SDK adds an abort listener per call in flight to the one signal: more than Node's default
  // of 10 queues made every health check print a MaxListenersExceededWarning (they are removed).
  if (signal) setMaxListeners(queues.length + 10, signal);
  const results = await Promise.allSettled(
    queues.map(([, url]) =>
      client.send(new sdk.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }), {
        abortSignal: signal,
      }),
    ),
  );
  const down = results.flatMap((r, i) =>
    r.status === "rejected" ? [`${queues[i]?.[0]} (${sdkErrorName(r.reason)})`] : [],
  );
  if (down.length) {
    const firstFailure = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    throw new AppError("unavailable", "queue.unavailable", `SQS queue(s) not answering: ${down.join(", ")}`, {
      cause: firstFailure.reason,
      retryable: isTransientAwsError(firstFailure.reason),
    });
  }
}
