/**
 * Recording a failure where it happens, without ever blocking or breaking the failing path.
 *
 * `record()` classifies the error, then tries to insert its row in Postgres through the
 * `failure_persistence` breaker (the shared platform breaker: 5 consecutive failures open it for
 * 60 s). Whatever has not been written when the budget (FAILURE_PERSIST_TIMEOUT_MS, less a
 * reserve for SQS) runs out, or what the breaker refuses, goes to the FailureRecords queue, whose
 * consumer writes it once Postgres answers; the row carries its own id, so the late first write
 * and the queued one make one row. Only a record SQS would not take either is dropped, logged
 * and counted (`failure_persist_dropped_total`). It never throws and returns within the budget.
 *
 * @example
 *   } catch (e) {
 *     await Failures.record({ error: e, runId: jobId, skillId: "slack_send" });
 *     throw e;
 *   }
 */
import { randomUUID } from "node:crypto";
import { config } from "../config.ts";
import { useActor } from "../context.ts";
import { isAppError } from "../errors.ts";
import { inBackground } from "../platform/background.ts";
import { defineBreaker, type Permit } from "../platform/breaker/index.ts";
import { clock } from "../platform/clock.ts";
import { outsideTransaction, query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { sendMessages } from "../platform/queue.ts";
import { SYSTEM_TENANT_ID } from "../tenancy/index.ts";
import { classify } from "./classify.ts";
import * as sql from "./failures.sql.ts";
import type { MatchResult } from "./match.ts";
import { failureMetrics as m } from "./metrics.ts";
import { markRecorded } from "./recorded.ts";
import type { FailureRecordMessage } from "./schema.ts";

export const FAILURE_RECORDS_QUEUE = "FailureRecords";

export interface RecordInput {
  /** What was thrown (an AppError, a Node or pg error, anything). */
  error: unknown;
  /** The run it belongs to: a job id, an execution id, a queue message id. */
  runId: string;
  skillId?: string | undefined;
  stepIndex?: number | undefined;
  /** Small JSON the operator needs (job, item, attempt, queue); never secrets nor payloads. */
  context?: Record<string, unknown> | undefined;
  /** Default: the current actor's tenant, else the platform tenant. */
  tenantId?: string | undefined;
}

/** `written`: in Postgres now; `queued`: on its way through SQS; `dropped`: lost, counted. */
export type RecordOutcome = "written" | "queued" | "dropped";

export interface Recorded {
  id: string;
  outcome: RecordOutcome;
  match?: MatchResult;
}

const TARGET = "failure_matches";

export const persistBreaker = defineBreaker({
  kind: "failure_persistence",
  policy: () => {
    const f = config().failures;
    return {
      failureThreshold: f.breakerThreshold,
      cooldownS: f.breakerCooldownS,
      probeLeaseMs: f.persistTimeoutMs + 1_000,
    };
  },
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tenantOf(explicit: string | undefined): string {
  if (explicit && UUID.test(explicit)) return explicit;
  const a = useActor();
  const t = a.type === "public" ? undefined : a.tenantId;
  return t && UUID.test(t) ? t : SYSTEM_TENANT_ID;
}

const errorCodeOf = (e: unknown): string => {
  if (isAppError(e)) return e.code;
  const o = e as { code?: unknown; name?: unknown } | null;
  if (o && typeof o.code === "string" && o.code) return o.code.slice(0, 255);
  if (o && typeof o.name === "string" && o.name) return o.name.slice(0, 255);
  return "unknown";
};

const messageOf = (e: unknown): string =>
  (e instanceof Error ? e.message : typeof e === "string" ? e : (JSON.stringify(e) ?? String(e))).slice(0, 4000);

/** The row of a failure, as the queue carries it. */
export function toMessage(input: RecordInput, match: MatchResult, id: string, now: Date): FailureRecordMessage {
  const e = match.entry;
  return {
    v: 1,
    tenantId: tenantOf(input.tenantId),
    id,
    runId: input.runId.slice(0, 200) || "unknown",
    errorCode: errorCodeOf(input.error),
    errorMessage: messageOf(input.error),
    catalogEntryId: match.catalog_entry_id,
    matchType: match.match_type,
    matchConfidence: match.match_confidence,
    category: e?.category ?? null,
    severity: e?.severity ?? null,
    isRetryable: e?.is_retryable ?? false,
    recoveryMode: e?.recovery_mode ?? null,
    recoverySuggestion: e?.recovery_suggestion ?? null,
    skillId: input.skillId?.slice(0, 100) ?? null,
    stepIndex: input.stepIndex ?? null,
    context: { ...(input.context ?? {}), match_explanation: match.explanation },
    createdAt: now.toISOString(),
  };
}

/** Insert one record (idempotent by id). */
export async function writeRecord(r: FailureRecordMessage): Promise<void> {
  await outsideTransaction(() =>
    query(sql.insertFailure, [
      r.id,
      r.runId,
      r.tenantId,
      r.errorCode,
      r.errorMessage,
      r.catalogEntryId,
      r.matchType,
      r.matchConfidence,
      r.category,
      r.severity,
      r.isRetryable,
      r.recoveryMode,
      r.recoverySuggestion,
      r.skillId,
      r.stepIndex,
      JSON.stringify(r.context),
      new Date(r.createdAt),
    ]),
  );
}

type Race<T> = { done: true; value: T } | { done: false };

/** `p` or, after `ms`, `{ done: false }` (p goes on; its rejection is handled by the caller's chain). */
async function within<T>(p: Promise<T>, ms: number): Promise<Race<T>> {
  const stop = new AbortController();
  try {
    return await Promise.race([
      p.then((value) => ({ done: true as const, value })),
      clock()
        .sleep(Math.max(0, ms), stop.signal)
        .then(
          () => ({ done: false as const }),
          () => ({ done: false as const }),
        ),
    ]);
  } finally {
    stop.abort();
  }
}

type Attempt = { ok: true } | { ok: false; reason: "breaker_open" | "db_error" };

/**
 * Through the breaker: acquire, insert, report. Never rejects. Once the caller stopped waiting
 * (`late`), the caller has told the breaker of the timeout; the late answer is not reported again.
 */
async function persist(row: FailureRecordMessage, state: { permit?: Permit; late: boolean }): Promise<Attempt> {
  let permit: Permit;
  try {
    permit = await persistBreaker.acquire({ tenantId: null, target: TARGET });
  } catch {
    return { ok: false, reason: "breaker_open" };
  }
  state.permit = permit;
  try {
    await writeRecord(row);
  } catch (e) {
    if (!state.late) await persistBreaker.fail(permit, e);
    log.warn("failure record not written; queued", { id: row.id, err: e });
    return { ok: false, reason: "db_error" };
  }
  if (!state.late) await persistBreaker.succeed(permit);
  return { ok: true };
}

/** Send to the queue within `ms`; a send still running then counts a drop only if it fails. */
async function enqueue(row: FailureRecordMessage, ms: number): Promise<"queued" | "dropped"> {
  const send = sendMessages(FAILURE_RECORDS_QUEUE, [row], { maxAttempts: 2 }).then(
    (r) => {
      if (r.failed.length) throw new Error(`SQS refused the record: ${r.failed[0]?.code} ${r.failed[0]?.message}`);
      return "queued" as const;
    },
    (e: unknown) => {
      throw e;
    },
  );
  const settled = send.catch((e: unknown) => {
    m.dropped.inc({ reason: "queue_failed" });
    log.error("failure record dropped: neither Postgres nor the queue took it", { id: row.id, err: e });
    return "dropped" as const;
  });
  const r = await within(settled, ms);
  if (r.done) return r.value;
  // Still sending: it may yet be accepted (then nothing is lost) or fail (then counted above).
  m.dropped.inc({ reason: "queue_timeout" });
  log.warn("failure record: the queue did not answer within the budget", { id: row.id });
  return "dropped";
}

/** How much of the budget the queue send keeps for itself. */
const queueReserveMs = (budget: number) => Math.min(500, Math.floor(budget / 4));

/**
 * Record a failure: classified, written to failure_matches (or queued). Never throws; adds at
 * most FAILURE_PERSIST_TIMEOUT_MS to its caller.
 */
export async function record(input: RecordInput): Promise<Recorded> {
  // Marked at once (recordInBackground's caller sees it): a layer above does not record it again.
  markRecorded(input.error);
  const id = randomUUID();
  const started = clock().nowMs();
  const budget = config().failures.persistTimeoutMs;
  let row: FailureRecordMessage;
  let match: MatchResult;
  try {
    match = await classify(input.error);
    row = toMessage(input, match, id, clock().now());
    if (match.catalog_entry_id && match.entry)
      m.hits.inc({ category: match.entry.category, entry: match.entry.id, match_type: match.match_type });
    else m.misses.inc();
  } catch (e) {
    m.dropped.inc({ reason: "invalid" });
    log.error("failure record dropped: it could not be built", { id, err: e });
    return { id, outcome: "dropped" };
  }
  const state: { permit?: Permit; late: boolean } = { late: false };
  const r = await within(persist(row, state), budget - queueReserveMs(budget));
  if (r.done && r.value.ok) return { id, outcome: "written", match };
  const reason = r.done ? (r.value as { reason: "breaker_open" | "db_error" }).reason : "timeout";
  if (!r.done) {
    // The write goes on in the background (its row is the queued one: same id); not written in
    // time counts as a failure of the store.
    state.late = true;
    if (state.permit) void persistBreaker.fail(state.permit, new Error(`not written within ${budget} ms`));
  }
  m.deferred.inc({ reason });
  const outcome = await enqueue(row, budget - (clock().nowMs() - started));
  return { id, outcome, match };
}

/**
 * `record` without waiting: what a failing path calls, so recording adds nothing but the
 * classification to it. The write goes on in the background with every guarantee of `record`
 * (breaker, queue, counted drops) and is finished before the invocation ends: the handler kits
 * await `settleBackground()` (core/platform/background.ts). The record's id, for the caller's logs.
 *
 * @example
 *   } catch (e) {
 *     Failures.recordInBackground({ error: e, runId: jobId, skillId: "slack_send" });
 *     throw e;
 *   }
 */
export function recordInBackground(input: RecordInput): void {
  inBackground(record(input));
}
