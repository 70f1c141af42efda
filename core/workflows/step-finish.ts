/**
 * The end of a step (step.ts): what its call came to recorded, charged and the run moved on.
 *
 * The common case, an op that succeeded of a running run whose reserve (read before the call)
 * covers its cost and that has ops after it, is ONE autocommit statement (step.sql.ts finishOp):
 * it locks and guards the run, appends the op, writes and applies its charge, moves the run on
 * and stamps it for its next message, which is then sent (`sendStamped`: put back unstamped if
 * SQS refuses it, so the sweeper sends it). When the guard finds the run otherwise (another
 * delivery recorded the op, the run was cancelled, ...) nothing is written and the op goes the
 * transactional way, `finishInTx`, which handles every case: a top-up of the reserve first
 * (topUp), then one transaction that locks the run, appends the op, charges it (not when the run
 * was cancelled), and moves the run on (next message after commit) or ends it (the rest of the
 * reserve released, status_history). The last op and failures always go that way.
 */
import { actorName, useActor } from "../context.ts";
import * as Costsim from "../costsim/index.ts";
import * as Credits from "../credits/index.ts";
import { AppError, InternalError } from "../errors.ts";
import * as Failures from "../failures/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import type { PendingSuccess } from "../platform/idempotency/index.ts";
import * as Idempotency from "../platform/idempotency/index.ts";
import { log } from "../platform/logger.ts";
import { enqueueAfterCommit, type Stamped, sendStamped } from "../platform/outbox/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import { type OpInput, opRow, recordOp } from "./audit.ts";
import { workflowMetrics as m } from "./metrics.ts";
import type { WorkflowStep } from "./schema.ts";
import { RunStates } from "./states.ts";
import * as ssql from "./step.sql.ts";
import { recordFailure } from "./step-failure.ts";
import { type OutboxRun, stepOutbox } from "./step-outbox.ts";
import * as sql from "./workflows.sql.ts";

export type Locked = sql.RunRow & { reserved: number; charged: number };

/** The idempotency key of a run's op: a redelivered step replays the stored result. */
export const opKey = (runId: string, opIndex: number): string => `wf:${runId}:${opIndex}`;

const units = (n: number) => Math.round(n * 10_000);

/** What the step's call came to; `units`: its cost model's, once its args validated. */
export type Outcome =
  | {
      ok: true;
      args: unknown;
      result: unknown;
      version: string;
      durationMs: number;
      cost: number;
      units: number;
      /** The op's idempotency record's success, to store (Skills.execute `deferSuccess`); none for a replayed call. */
      pending?: PendingSuccess | undefined;
    }
  | { ok: false; args: unknown; units?: number; version: string | null; durationMs: number | null; error: AppError };

/** The op's row as the audit log records it. */
function opOf(r: Locked, step: WorkflowStep, opIndex: number, o: Outcome, cost: number, started: Date, now: Date) {
  return {
    runId: r.id,
    tenantId: r.tenant_id,
    opIndex,
    stepId: step.id,
    skill: step.skill,
    skillVersion: o.version,
    args: o.args,
    status: o.ok ? "succeeded" : "failed",
    result: o.ok ? o.result : undefined,
    errorCode: o.ok ? null : o.error.code,
    errorMessage: o.ok ? null : o.error.message,
    durationMs: o.durationMs ?? now.getTime() - started.getTime(),
    transient: step.transient ?? false,
    idempotencyKey: opKey(r.id, opIndex),
    credits: cost,
    units: o.units,
    startedAt: started,
    completedAt: now,
  } satisfies OpInput;
}

/**
 * Record the op, charge it and move the run on: the one-statement fold when it applies and its
 * guard holds, else the transaction. `chain`: the caller runs the next op itself (step.ts), so
 * the fold sends no message and leaves the run unstamped; only then, and only when the fold moved
 * the run on, the run as it now is comes back (the transaction always sends the next message itself).
 */
export async function finish<R extends Locked>(
  run: R,
  step: WorkflowStep,
  opIndex: number,
  o: Outcome,
  started: Date,
  chain = false,
): Promise<R | undefined> {
  if (o.ok && opIndex + 1 < run.steps_total && units(o.cost) <= units(run.reserved - run.charged)) {
    const moved = await finishOp(run, step, opIndex, o, started, chain).catch(async (e: unknown) => {
      await storeSuccess(o); // the fold did not commit: the key's success on its own, if the store answers
      throw e;
    });
    // The fold stored the key's success whether or not its guard held.
    if (moved) return chain ? moved : undefined;
  } else if (o.ok) await storeSuccess(o);
  await finishInTx(run, step, opIndex, o, started);
  return undefined;
}

/**
 * The op's idempotency record's success stored on its own (Skills.execute `deferSuccess`), when
 * the fold did not store it. Bookkeeping after the call: a store that fails is logged and the
 * key's lease runs out, as Skills.execute does with its own.
 */
async function storeSuccess(o: Outcome & { ok: true }): Promise<void> {
  const p = o.pending;
  if (!p) return;
  try {
    await Idempotency.succeed(p.id, p.attempts, p.result, p.durationMs);
  } catch (e) {
    log.error("skill execution record not written", { err: e });
  }
}

/**
 * The fold (step.sql.ts finishOp): the run as it left it; undefined when its guard found the run
 * otherwise (nothing written but the key's success).
 * Not chained: the run is stamped and its next message sent (sendStamped). Chained: the run is
 * left unstamped (`enqueued_at` null) and nothing is sent: the caller runs the next op now, and
 * if this process dies first, the outbox's sweeper sends the message once the run has not moved
 * for its unsent grace (step-outbox.ts).
 */
async function finishOp<R extends Locked>(
  run: R,
  step: WorkflowStep,
  opIndex: number,
  o: Outcome & { ok: true },
  started: Date,
  chain: boolean,
) {
  const now = clock().now();
  // The outbox stamp: the run's next message counts as sent from now unless SQS refuses it.
  const stamp = chain ? null : now;
  const { params, hash } = opRow(opOf(run, step, opIndex, o, o.cost, started, now), run.head_hash);
  const done = o.pending ? Idempotency.successValues(o.pending) : undefined;
  const { rows } = await query<Stamped<OutboxRun> & { charged: string; applied: string }>(ssql.finishOp, [
    ...params,
    actorName(useActor()),
    `workflow ${run.workflow}`,
    stamp,
    done?.id ?? null,
    done?.attempts ?? null,
    done?.result ?? null,
    done?.ms ?? null,
  ]);
  const moved = rows[0];
  if (!moved) return false;
  m.auditOps.inc({ skill: step.skill, status: "succeeded" });
  if (stamp) await sendStamped(stepOutbox, [moved], stamp);
  else m.stepsChained.inc();
  // A charge written but not applied (the tenant has no balance row, which its run's reserve
  // needed): committed already, so said loudly, as Credits.capture does.
  if (Number(moved.charged) !== Number(moved.applied))
    throw new InternalError(`charge:wf:${run.id}:${opIndex}: tenant ${run.tenant_id} has no balance`);
  // The run as the statement left it (what the chain's next op starts from; its own fold guards it again).
  return {
    ...run,
    next_op_index: opIndex + 1,
    attempt: 0,
    head_hash: hash,
    charged: (units(run.charged) + units(o.cost)) / 10_000,
  };
}

/**
 * The op's cost beyond what is left of the run's reserve, reserved first in its own transaction
 * (`reserve:wf:<run>:<op>`); false when the tenant cannot cover it. Nothing to do (and no
 * transaction) when the reserve read before the call covers the cost: only this op moves the
 * run's reserve and charges while it is the run's next op (a cancel releases the rest, and then
 * `finish` charges nothing).
 */
async function topUp(run: Locked, opIndex: number, cost: number): Promise<boolean> {
  if (units(cost) <= units(run.reserved - run.charged)) return true;
  try {
    await withTx(async () => {
      const { rows } = await query<Locked>(sql.lockRun, [run.id, run.tenant_id]);
      const r = rows[0];
      if (!r || r.next_op_index !== opIndex) return;
      const short = (units(cost) - units(r.reserved - r.charged)) / 10_000;
      if (short <= 0) return;
      if (await Credits.reserveNow(r.tenant_id, short, `reserve:wf:${r.id}:${opIndex}`, `workflow ${r.workflow}`))
        await query(sql.moveRun, [
          r.id,
          r.tenant_id,
          r.status,
          opIndex,
          r.attempt,
          0,
          null,
          null,
          clock().now(),
          short,
        ]);
    });
    return true;
  } catch (e) {
    if (e instanceof AppError && e.code === "credits.insufficient") return false;
    throw e;
  }
}

/** Every case, in one transaction (after a top-up when the reserve is short). */
async function finishInTx(run: Locked, step: WorkflowStep, opIndex: number, o: Outcome, started: Date) {
  let outcome = o;
  if (outcome.ok && !(await topUp(run, opIndex, outcome.cost)))
    outcome = {
      ok: false,
      args: outcome.args,
      units: outcome.units,
      version: outcome.version,
      durationMs: outcome.durationMs,
      error: new AppError(
        "insufficient_credits",
        "credits.insufficient",
        "The op cost more than the run's credits left",
      ),
    };
  if (!outcome.ok && !Failures.wasRecorded(outcome.error))
    recordFailure(run, step, opIndex, outcome.error, run.attempt + 1);
  await withTx(async () => {
    const { rows } = await query<Locked>(sql.lockRun, [run.id, run.tenant_id]);
    const r = rows[0];
    // Another delivery recorded this op already, or the run ended otherwise than by a cancel.
    if (!r || r.next_op_index !== opIndex) return;
    if (r.status !== RunStates.running && r.status !== RunStates.cancelled) return;
    const cancelled = r.status === RunStates.cancelled;
    // An op that finished after its run was cancelled is recorded (it happened), not charged:
    // the cancel already gave the rest of the reserve back.
    const cost = outcome.ok && !cancelled ? outcome.cost : 0;
    const now = clock().now();
    const op = await recordOp(opOf(r, step, opIndex, outcome, cost, started, now), r.head_hash);
    if (cost > 0) await Credits.chargeNow(r.tenant_id, cost, `charge:wf:${r.id}:${opIndex}`, `workflow ${r.workflow}`);
    const next = opIndex + 1;
    const status = cancelled
      ? RunStates.cancelled
      : !outcome.ok
        ? RunStates.failed
        : next >= r.steps_total
          ? RunStates.completed
          : RunStates.running;
    const error = outcome.ok ? null : { code: outcome.error.code, message: outcome.error.message, op_index: opIndex };
    await query(sql.moveRun, [
      r.id,
      r.tenant_id,
      status,
      next,
      0,
      cost,
      op.hash,
      error && JSON.stringify(error),
      now,
      0,
    ]);
    if (status === RunStates.running) {
      enqueueAfterCommit(stepOutbox, [{ id: r.id, tenant_id: r.tenant_id, next_op_index: next }]);
      return;
    }
    if (cancelled) return;
    const rest = (units(r.reserved) - units(r.charged) - units(cost)) / 10_000;
    await Credits.releaseNow(r.tenant_id, rest, `release:wf:${r.id}`, `workflow ${r.workflow}`);
    await StatusHistory.record({
      entity_type: "workflow_run",
      entity_id: r.id,
      old_status: RunStates.running,
      new_status: status,
      ...(error ? { reason: `${error.code} at op ${opIndex}` } : {}),
      metadata: { ops: next, credits_charged: (units(r.charged) + units(cost)) / 10_000, released: rest },
    });
    // The plan ran whole (not a fork's tail): its outcome goes next to its simulations' estimates.
    if (r.estimate && r.estimate.from_op_index === 0)
      await Costsim.recordActual({
        planHash: r.estimate.plan_hash,
        runId: r.id,
        credits: (units(r.charged) + units(cost)) / 10_000,
        durationMs: now.getTime() - Date.parse(r.created_at),
        startedAt: new Date(r.created_at),
      });
    afterCommit(() => m.runsFinished.inc({ status }));
  });
}
