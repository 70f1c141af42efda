/**
 * `sqsHandler`: every record of a batch ends with an explicit outcome —
 *   done       the handler returned;
 *   retry      a transient failure (retryable AppError, network, unknown error): reported in
 *              `batchItemFailures`, so SQS redelivers it and, after maxReceiveCount, moves it to
 *              the queue's DLQ;
 *   permanent  a record that can never succeed (invalid body, non-retryable AppError): written
 *              to `queue_failures`, metered, and acknowledged.
 * Records run concurrently (bounded); each in its own request context.
 */
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { safeParse } from "zod/mini";
import type { $ZodType, output } from "zod/v4/core";
import { withContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { log } from "../../core/platform/logger.ts";
import { flushMetrics, recordQueue } from "../../core/platform/metrics/index.ts";
import { recordPermanentFailure } from "../../core/platform/queue-failures.ts";
import { fieldIssues, toAppError, validationError } from "./errors.ts";

export type Outcome = "done" | "retry" | "permanent";

export interface SqsSpec<B extends $ZodType> {
  /** Queue name as in functions/routes.ts. */
  queue: string;
  body: B;
  /** Records processed at once (default 10). */
  concurrency?: number;
}

async function processRecord<B extends $ZodType>(
  spec: SqsSpec<B>,
  record: SQSRecord,
  fn: (body: output<B>, record: SQSRecord) => Promise<void>,
): Promise<Outcome> {
  const started = performance.now();
  let outcome: Outcome = "done";
  let tenantId: string | undefined;
  try {
    let json: unknown;
    try {
      json = JSON.parse(record.body);
    } catch {
      throw validationError([{ field: "body", message: "Malformed JSON" }]);
    }
    tenantId = (json as { tenantId?: string } | null)?.tenantId;
    const parsed = safeParse(spec.body, json);
    if (!parsed.success) throw validationError(fieldIssues("body", parsed.error));
    await fn(parsed.data, record);
  } catch (e) {
    const err = e instanceof AppError ? e : toAppError(e);
    const transient = e instanceof AppError ? e.retryable : true;
    outcome = transient ? "retry" : "permanent";
    log[transient ? "warn" : "error"](`queue record ${outcome}`, {
      queue: spec.queue,
      messageId: record.messageId,
      code: err.code,
      err: e,
    });
    if (!transient) {
      await recordPermanentFailure({
        queue: spec.queue,
        messageId: record.messageId,
        tenantId,
        body: record.body,
        errorCode: err.code,
        errorMessage: e instanceof Error ? e.message : String(e),
        receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
      }).catch((recErr: unknown) => {
        // Could not record it: let SQS redeliver rather than lose it.
        outcome = "retry";
        log.error("could not record a permanent failure; will retry", { err: recErr });
      });
    }
  }
  recordQueue(spec.queue, outcome, performance.now() - started);
  return outcome;
}

export function sqsHandler<B extends $ZodType>(
  spec: SqsSpec<B>,
  fn: (body: output<B>, record: SQSRecord) => Promise<void>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const limit = Math.max(1, spec.concurrency ?? 10);
  return middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 0 })
    .use({ after: () => flushMetrics(), onError: () => flushMetrics() })
    .handler(async (event) => {
      const records = event.Records ?? [];
      const outcomes: Outcome[] = new Array(records.length);
      let next = 0;
      const worker = async () => {
        while (next < records.length) {
          const i = next++;
          const record = records[i] as SQSRecord;
          const correlationId = record.messageAttributes?.correlationId?.stringValue ?? record.messageId;
          outcomes[i] = await withContext(
            { requestId: record.messageId, correlationId, actor: { type: "system", name: `queue:${spec.queue}` } },
            () => processRecord(spec, record, fn),
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, records.length) }, worker));
      return {
        batchItemFailures: records
          .filter((_, i) => outcomes[i] === "retry")
          .map((r) => ({ itemIdentifier: r.messageId })),
      };
    });
}
