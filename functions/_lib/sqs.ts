/**
 * `sqsBatchHandler`: the one SQS consumer factory. Every record of a batch ends with an explicit
 * outcome (core/platform/queue-outcome.ts), handed back by the consumer as a value:
 *   done       acknowledged;
 *   retry      reported in `batchItemFailures`: SQS redelivers it, then moves it to the DLQ;
 *   permanent  recorded once in `queue_failures` with its tenant, metered, acknowledged.
 * Bad JSON and a body the schema refuses are permanent before the consumer sees them. A consumer
 * that throws gets `retry` for every record it was given: nothing is lost, nothing is silent.
 *
 * A consumer handles one record at a time (`handle`), or declares `groupBy` and gets the parsed
 * records of one group (one tenant, one job) together (`handleGroup`), answering one outcome per
 * record in the same order. Records (or groups) run concurrently, at most `concurrency` at once.
 * Each record is parsed and settled in its own request context; a group runs in the context of
 * its first record.
 *
 * @example
 *   export const handler = sqsBatchHandler({
 *     queue: "JobItems",
 *     schema: ItemMessageIn,
 *     groupBy: (m) => m.tenantId ?? m.jobId,
 *     handleGroup: async (records) => records.map(() => done()),
 *   });
 */
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { safeParse } from "zod/mini";
import type { $ZodType, output } from "zod/v4/core";
import { type RequestContext, withContext } from "../../core/context.ts";
import * as Failures from "../../core/failures/index.ts";
import { settleBackground } from "../../core/platform/background.ts";
import { eachLimited } from "../../core/platform/concurrency.ts";
import { log } from "../../core/platform/logger.ts";
import { flushMetrics, recordQueue } from "../../core/platform/metrics/index.ts";
import { recordPermanentFailure, tenantIdOf } from "../../core/platform/queue-failures.ts";
import { permanent, type QueueOutcome, retry } from "../../core/platform/queue-outcome.ts";
import { fieldIssues, validationError } from "./errors.ts";

/** A permanent failure as the failure catalog records it (the message id is its run). */
function permanentFailure(
  queue: string,
  record: SQSRecord,
  tenantId: string | undefined,
  code: string,
  reason: string,
): Failures.RecordInput {
  const error = Failures.queueFailureError(code, reason);
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  return { error, runId: record.messageId, tenantId, context: { queue, receive_count: receiveCount } };
}

/** A record whose body the schema accepted. */
export interface ParsedRecord<T> {
  body: T;
  record: SQSRecord;
}

interface BaseSpec<S extends $ZodType> {
  /** Queue name as in functions/routes.ts (the metrics' and queue_failures' `queue`). */
  queue: string;
  /** The body's schema; the consumer gets its output. */
  schema: S;
  /** Records (or groups) handled at once (default 10). */
  concurrency?: number;
  /** The record's tenant for queue_failures and logs (default: the body's `tenantId`). */
  tenantOf?: (body: output<S>) => string | undefined;
}

export interface RecordSpec<S extends $ZodType> extends BaseSpec<S> {
  handle: (body: output<S>, record: SQSRecord) => Promise<QueueOutcome>;
}

export interface GroupSpec<S extends $ZodType> extends BaseSpec<S> {
  /** The group of a record: records of one group are handed to `handleGroup` together. */
  groupBy: (body: output<S>) => string;
  /** One outcome per record, in the order given; a missing one counts as `retry`. */
  handleGroup: (records: readonly ParsedRecord<output<S>>[]) => Promise<readonly QueueOutcome[]>;
}

export type SqsBatchSpec<S extends $ZodType> = RecordSpec<S> | GroupSpec<S>;

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

interface Settled {
  outcome: QueueOutcome;
  tenantId: string | undefined;
  startedMs: number;
}

const recordContext = (queue: string, record: SQSRecord): RequestContext => ({
  requestId: record.messageId,
  correlationId: record.messageAttributes?.correlationId?.stringValue ?? record.messageId,
  actor: { type: "system", name: `queue:${queue}` },
});

/** The body as JSON and through the schema, or the permanent outcome saying why not. */
function parse<S extends $ZodType>(spec: BaseSpec<S>, record: SQSRecord): { body: output<S> } | { bad: QueueOutcome } {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    return { bad: permanent("validation.invalid_input", "Malformed JSON") };
  }
  const parsed = safeParse(spec.schema, json);
  if (parsed.success) return { body: parsed.data as output<S> };
  const err = validationError(fieldIssues("body", parsed.error));
  return { bad: permanent(err.code, err.message) };
}

/** The raw body's `tenantId`, for a record the schema refused. */
function rawTenant(body: string): string | undefined {
  try {
    return tenantIdOf((JSON.parse(body) as { tenantId?: unknown } | null)?.tenantId);
  } catch {
    return undefined;
  }
}

/** Log, record a permanent failure (once), meter; a permanent failure that cannot be recorded is retried. */
async function settle(queue: string, record: SQSRecord, s: Settled): Promise<QueueOutcome["outcome"]> {
  let { outcome } = s;
  if (outcome.outcome === "retry") {
    log.warn("queue record retry", { queue, messageId: record.messageId, reason: outcome.reason });
  } else if (outcome.outcome === "permanent") {
    const { code, reason } = outcome;
    try {
      const first = await recordPermanentFailure({
        queue,
        messageId: record.messageId,
        tenantId: s.tenantId,
        body: record.body,
        errorCode: code,
        errorMessage: reason,
        receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
      });
      const fields = { queue, messageId: record.messageId, tenantId: s.tenantId, code, reason };
      if (first) log.error("queue record failed permanently; recorded in queue_failures", fields);
      if (first) await Failures.record(permanentFailure(queue, record, s.tenantId, code, reason));
      else log.warn("queue record failed permanently again; recorded before", fields);
    } catch (err) {
      // Could not record it: let SQS redeliver rather than lose it.
      outcome = retry("the permanent failure could not be recorded");
      log.error("could not record a permanent failure; will retry", { queue, messageId: record.messageId, err });
    }
  }
  recordQueue(queue, outcome.outcome, performance.now() - s.startedMs);
  return outcome.outcome;
}

/** The consumer's outcomes for one group; a throw, or a missing outcome, is `retry` for the record. */
async function runGroup<S extends $ZodType>(
  spec: SqsBatchSpec<S>,
  group: readonly ParsedRecord<output<S>>[],
): Promise<QueueOutcome[]> {
  const first = group[0] as ParsedRecord<output<S>>;
  try {
    const outcomes =
      "handleGroup" in spec
        ? await withContext(recordContext(spec.queue, first.record), () => spec.handleGroup(group))
        : [await withContext(recordContext(spec.queue, first.record), () => spec.handle(first.body, first.record))];
    return group.map((_, i) => outcomes[i] ?? retry("the consumer gave no outcome for this record"));
  } catch (e) {
    log.error("queue consumer threw; its records will be retried", {
      queue: spec.queue,
      messageIds: group.map((r) => r.record.messageId),
      err: e,
    });
    const reason = `the consumer threw: ${e instanceof Error ? e.message : String(e)}`;
    return group.map(() => retry(reason));
  }
}

/** The record's group: its own unless the consumer groups; undefined when `groupBy` threw. */
function groupKey<S extends $ZodType>(spec: SqsBatchSpec<S>, body: output<S>, index: number): string | undefined {
  if (!("groupBy" in spec)) return `r:${index}`;
  try {
    return `g:${spec.groupBy(body)}`;
  } catch (e) {
    log.error("queue consumer's groupBy threw; the record will be retried", { queue: spec.queue, err: e });
    return undefined;
  }
}

async function endInvocation(): Promise<void> {
  await settleBackground();
  await flushMetrics();
}

export function sqsBatchHandler<S extends $ZodType>(spec: SqsBatchSpec<S>): Handler {
  const limit = Math.max(1, spec.concurrency ?? 10);
  const tenantOf = spec.tenantOf ?? ((b: output<S>) => tenantIdOf((b as { tenantId?: unknown } | null)?.tenantId));
  return (
    middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 0 })
      // What the batch started and did not wait for (failure records) ends with the invocation.
      .use({ after: endInvocation, onError: endInvocation })
      .handler(async (event) => {
        const records = event.Records ?? [];
        const startedMs = performance.now();
        const settling: Promise<{ id: string; outcome: QueueOutcome["outcome"] }>[] = [];
        const finish = (r: SQSRecord, outcome: QueueOutcome, tenantId: string | undefined): void => {
          const s = { outcome, tenantId, startedMs };
          const settled = withContext(recordContext(spec.queue, r), () => settle(spec.queue, r, s));
          settling.push(settled.then((o) => ({ id: r.messageId, outcome: o })));
        };
        const groups = new Map<string, ParsedRecord<output<S>>[]>();
        for (const [i, record] of records.entries()) {
          const p = parse(spec, record);
          if ("bad" in p) {
            finish(record, p.bad, rawTenant(record.body));
            continue;
          }
          const key = groupKey(spec, p.body, i);
          if (key === undefined) {
            finish(record, retry("groupBy threw"), tenantOf(p.body));
            continue;
          }
          const group = groups.get(key);
          if (group) group.push({ body: p.body, record });
          else groups.set(key, [{ body: p.body, record }]);
        }
        await eachLimited([...groups.values()], limit, async (group) => {
          const outcomes = await runGroup(spec, group);
          for (const [i, r] of group.entries()) finish(r.record, outcomes[i] as QueueOutcome, tenantOf(r.body));
        });
        const retried = new Set((await Promise.all(settling)).filter((s) => s.outcome === "retry").map((s) => s.id));
        return {
          batchItemFailures: records
            .filter((r) => retried.has(r.messageId))
            .map((r) => ({ itemIdentifier: r.messageId })),
        };
      })
  );
}
