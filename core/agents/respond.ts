/**
 * The target's answer to an invoke: `output` (completed) or `error` (failed). In time, a
 * completion charges the held credits and a failure releases them; after the deadline (the
 * caller had its 504) the answer is recorded as `late` and the hold is released (nothing was
 * delivered in time, so nothing is charged). After the caller canceled, the answer is kept on the
 * canceled row (`answered_at`), not lost. The request message is acked with it, and the waiting
 * caller is woken after commit. A failed answer is recorded in the failure catalog
 * (`agents.invoke_failed`, the invoke id as run id).
 */
import { useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import * as Failures from "../failures/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import type { LockedInvoke } from "./cancel.ts";
import { InvokeAnsweredError, InvokeFailedError, InvokeNotFoundError, NotInvokeTargetError } from "./errors.ts";
import * as sql from "./invokes.sql.ts";
import { agentMetrics } from "./metrics.ts";
import type { InvokeRecord, InvokeRespond } from "./schema.ts";
import { type InvokeState, InvokeStates } from "./states.ts";
import { invokeKey, signal } from "./wake.ts";

const open: readonly string[] = [InvokeStates.submitted, InvokeStates.working, InvokeStates.timeout];

/**
 * Answer invoke `invokeId` as `responder` (the instance named by X-AOS-Agent-Id, or undefined for
 * a key acting as no instance): 403 when a named instance is not the target, 409 when answered.
 */
export async function respond(
  invokeId: string,
  responder: string | undefined,
  body: InvokeRespond,
): Promise<InvokeRecord> {
  const tenantId = useTenant();
  const now = clock().now();
  const response = body.error === undefined ? { output: body.output ?? null } : { error: body.error };
  const inTime = body.error === undefined ? InvokeStates.completed : InvokeStates.failed;
  // The common case first, in one statement; anything else takes the locked path below.
  const { rows } = await query<InvokeRecord>(sql.answerOpenInvoke, [
    tenantId,
    invokeId,
    inTime,
    JSON.stringify(response),
    body.error ?? null,
    responder ?? null,
    now,
  ]);
  const record = rows[0] ?? (await answerLocked(tenantId, invokeId, responder, body, now));
  if (rows[0]) afterCommit(() => answered(invokeId, record));
  // After the commit, never inside it; written beside the reply, finished before the invocation ends.
  if (record.status === InvokeStates.failed)
    Failures.recordInBackground({
      error: new InvokeFailedError(invokeId, record.error_message ?? ""),
      runId: invokeId,
      context: { invoke_id: invokeId, target: record.target_instance_id, job_id: record.job_id },
      tenantId,
    });
  return record;
}

/** The locked path: a hold to charge or release, a timed-out or canceled invoke, or an error to answer. */
async function answerLocked(
  tenantId: string,
  invokeId: string,
  responder: string | undefined,
  body: InvokeRespond,
  now: Date,
): Promise<InvokeRecord> {
  const response = body.error === undefined ? { output: body.output ?? null } : { error: body.error };
  return withTx(async () => {
    const { rows } = await query<LockedInvoke>(sql.lockInvoke, [tenantId, invokeId]);
    const row = rows[0];
    if (!row) throw new InvokeNotFoundError(invokeId);
    if (responder !== undefined && responder !== row.target_instance_id) throw new NotInvokeTargetError(invokeId);
    if (row.status === InvokeStates.canceled && row.answered_at === null)
      return afterCancel(tenantId, invokeId, response, body.error, now);
    if (!open.includes(row.status)) throw new InvokeAnsweredError(invokeId, row.status);
    const late = row.status === InvokeStates.timeout || now.getTime() > row.deadline_at.getTime();
    const ok = body.error === undefined;
    const status: InvokeState = late ? InvokeStates.late : ok ? InvokeStates.completed : InvokeStates.failed;
    let charged: number | null = null;
    if (row.hold_id) {
      if (status === InvokeStates.completed) charged = await Credits.capture(tenantId, row.hold_id);
      else await Credits.releaseHold(tenantId, row.hold_id);
    }
    const result = await query<InvokeRecord>(sql.answerInvoke, [
      tenantId,
      invokeId,
      status,
      JSON.stringify(response),
      body.error ?? null,
      charged ?? (row.hold_id ? 0 : null),
      now,
    ]);
    const record = result.rows[0] as InvokeRecord;
    afterCommit(() => answered(invokeId, record));
    return record;
  });
}

/** After the answer's commit: its metrics, and the waiting caller woken with the answered row. */
async function answered(invokeId: string, record: InvokeRecord): Promise<void> {
  if (record.status === InvokeStates.late) agentMetrics.invokeLate.inc({ after: "deadline" });
  else {
    if (record.status === InvokeStates.completed) agentMetrics.invokeSuccess.inc();
    else agentMetrics.invokeFailure.inc({ reason: "failed" });
    agentMetrics.invokeSeconds.observe({ status: record.status }, (record.duration_ms ?? 0) / 1000);
  }
  await signal(invokeKey(invokeId), { for: invokeId, value: JSON.stringify(record) });
}

/** The caller canceled before this answer: it is kept on the canceled row (nothing charged: the hold was released). */
async function afterCancel(
  tenantId: string,
  invokeId: string,
  response: unknown,
  error: string | undefined,
  now: Date,
): Promise<InvokeRecord> {
  const { rows } = await query<InvokeRecord>(sql.answerAfterCancel, [
    tenantId,
    invokeId,
    JSON.stringify(response),
    error ?? null,
    now,
  ]);
  afterCommit(() => agentMetrics.invokeLate.inc({ after: "cancel" }));
  return rows[0] as InvokeRecord;
}
