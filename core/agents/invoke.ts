/**
 * Invoke: a caller asks a target instance and waits for its answer, at most `timeout_s` (<= 30,
 * under API Gateway's limit). The request travels as a message (`invoke.request`, its payload
 * carrying the deadline) to the target's inbox; the target answers with `respond`. Every invoke
 * has an `invoke_audit` row from its start. Credits asked for are held at the start (one
 * transaction with the audit row and the message), charged when the target completes in time,
 * released when it fails or the deadline passes. A timed-out invoke stays answerable: an answer
 * after the deadline is recorded as `late`. A timed-out invoke is recorded in the failure catalog
 * (`agents.invoke_timeout`, the invoke id as run id), by its caller or by the sweep.
 */
import { randomUUID } from "node:crypto";
import { useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import * as Failures from "../failures/index.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { InvokeTimeoutError } from "./errors.ts";
import { assertJob } from "./instances.ts";
import * as sql from "./invokes.sql.ts";
import { deliver } from "./messages.ts";
import { agentMetrics } from "./metrics.ts";
import type { InvokeBody, InvokeRecord } from "./schema.ts";
import { invokeKey, waitFor } from "./wake.ts";

/** A hold outlives its deadline by this much, so only a caller that died leaves it to expire. */
const HOLD_GRACE_MS = 5 * 60_000;

/** The request message's type. */
export const INVOKE_REQUEST = "invoke.request";

/**
 * Start an invoke of `target` by `caller` and wait for its answer: the audit row when answered
 * (completed or failed); InvokeTimeoutError (504) when the deadline passes first.
 */
export async function invoke(caller: string, target: string, body: InvokeBody): Promise<InvokeRecord> {
  const tenantId = useTenant();
  // The target is checked by the request's insert (no row for another tenant's or a
  // deregistered instance: `deliver` then answers 404 or 410 and the transaction rolls back).
  await assertJob(body.job_id);
  const invokeId = randomUUID();
  const startedAt = clock().now();
  const deadline = new Date(startedAt.getTime() + body.timeout_s * 1000);
  const request = JSON.stringify({ input: body.input ?? null });
  const payload = {
    invoke_id: invokeId,
    input: body.input ?? null,
    deadline_at: deadline.toISOString(),
    timeout_s: body.timeout_s,
  };
  const message = { to: target, type: INVOKE_REQUEST, payload };
  if (body.credits === undefined)
    // No credits to hold: the audit row and the request in one statement (no transaction to open).
    await deliver(caller, message, {
      invokeId,
      expiresAt: deadline,
      now: startedAt,
      audit: { jobId: body.job_id ?? null, request, timeoutS: body.timeout_s },
    });
  else {
    const credits = body.credits;
    await withTx(async () => {
      const holdId = await Credits.hold(
        tenantId,
        credits,
        `invoke ${invokeId}`,
        new Date(deadline.getTime() + HOLD_GRACE_MS),
        "agent_invoke",
      );
      await query(sql.insertInvoke, [
        tenantId,
        invokeId,
        caller,
        target,
        body.job_id ?? null,
        request,
        credits,
        holdId,
        body.timeout_s,
        startedAt,
        deadline,
      ]);
      await deliver(caller, message, { invokeId, expiresAt: deadline, now: startedAt });
    });
  }
  // The invoke's stream is new (its id is): the answer's wake-up, carrying the answered row, is
  // after 0-0, and Postgres is asked only when a slice passes without it.
  const answered = await waitFor(
    invokeKey(invokeId),
    deadline.getTime(),
    async () => {
      const { rows } = await query<InvokeRecord>(sql.answeredInvoke, [tenantId, invokeId]);
      return rows[0];
    },
    { token: invokeId, take: (value) => JSON.parse(value) as InvokeRecord, from: "0-0" },
  );
  if (answered) return answered;
  return timeOut(tenantId, invokeId, body.timeout_s);
}

/** The deadline passed: timeout recorded and the hold released, unless an answer came just now. */
async function timeOut(tenantId: string, invokeId: string, timeoutS: number): Promise<InvokeRecord> {
  const timedOut = await expire(tenantId, invokeId);
  if (!timedOut) {
    const { rows } = await query<InvokeRecord>(sql.getInvoke, [tenantId, invokeId]);
    const row = rows[0];
    if (row && row.status !== "timeout") return row;
  }
  throw new InvokeTimeoutError(invokeId, timeoutS);
}

/** Mark an open invoke timed out and release its hold (one transaction); false when it was not open. */
async function expire(tenantId: string, invokeId: string): Promise<boolean> {
  const now = clock().now();
  const done = await withTx(async () => {
    const { rows } = await query<{ hold_id: string | null }>(sql.timeOutInvoke, [tenantId, invokeId, now]);
    if (!rows[0]) return false;
    if (rows[0].hold_id) await Credits.releaseHold(tenantId, rows[0].hold_id);
    return true;
  });
  if (done) {
    agentMetrics.invokeFailure.inc({ reason: "timeout" });
    const { rows } = await query<InvokeRecord>(sql.getInvoke, [tenantId, invokeId]);
    const row = rows[0];
    agentMetrics.invokeSeconds.observe({ status: "timeout" }, (row?.duration_ms ?? 0) / 1000);
    // Written beside the caller's 504, finished before the invocation ends.
    Failures.recordInBackground({
      error: new InvokeTimeoutError(invokeId, row?.timeout_s ?? 0),
      runId: invokeId,
      context: { invoke_id: invokeId, target: row?.target_instance_id, job_id: row?.job_id ?? null },
      tenantId,
    });
  }
  return done;
}

const SWEEP_BATCH = 500;
/** How long past its deadline an open invoke is left to its own (waiting) caller. */
const SWEEP_GRACE_MS = 5000;

/** The cron's work: invokes whose caller died before marking them timed out; how many. */
export async function sweepInvokes(): Promise<number> {
  let total = 0;
  for (;;) {
    const cutoff = new Date(clock().nowMs() - SWEEP_GRACE_MS);
    const { rows } = await query<{ tenant_id: string; invoke_id: string }>(sql.overdueInvokes, [cutoff, SWEEP_BATCH]);
    for (const r of rows) if (await expire(r.tenant_id, r.invoke_id)) total += 1;
    if (rows.length < SWEEP_BATCH) break;
  }
  if (total) log.warn("agents: invokes timed out by the sweep (their callers died)", { count: total });
  return total;
}
