/**
 * The WorkflowSteps worker: run a run's next op. Steps run one after another; each message names
 * the op it wakes (`opIndex`), so a stale or repeated message is acknowledged and does nothing.
 * A delivery then runs the ops after it itself, one after another, while WORKFLOW_STEP_CHAIN_S
 * (20 s) has not passed since it began, instead of a message and a delivery per op (DBOS runs a
 * workflow's steps in its process the same way): each op is still recorded, charged and the run
 * moved on before the next starts, but the run is left unstamped (step-finish.ts); the op that
 * ends the chain sends the next message. A worker that dies mid-chain leaves the run at its last
 * recorded op, unstamped: the outbox's sweeper sends its message once the run has not moved for
 * the step outbox's unsent grace (60 s).
 *
 * The skill runs through `Skills.execute` with the idempotency key `wf:<run>:<op>` and the run id
 * and op index as its retry seed, OUTSIDE any transaction; then the op is appended to the audit
 * log, charged, and the run moved on (its next message sent once that is committed) or ended (the
 * rest of the reserve released, status_history): an op that succeeded with ops after it and its
 * reserve covering its cost in ONE statement that locks and guards the run (step.sql.ts), every
 * other case, or a guard that found the run otherwise, in one transaction (step-finish.ts). A
 * worker that dies between the call and that write leaves the run where it was: the message comes
 * back (or the sweeper re-sends it), the call runs again under the same key and gets the stored
 * result, so the side effect happens once.
 *
 * A failed step is in the failure catalog with its run id, op index and skill: Skills.execute
 * records a failure of the call itself, the step records every failure not recorded yet
 * (`Failures.wasRecorded`: args refused, a breaker's or an idempotency refusal, credits short).
 * Whether it runs again comes from `Failures.retryDecision`: the matched entry's is_retryable
 * (which can veto, not force, the error's own `retryable`), its attempts and backoff (the message
 * is sent again with that delay); an unmatched failure is retried once at most;
 * WORKFLOW_STEP_MAX_ATTEMPTS is the attempts when the entry names none. A failure that is not
 * retried is recorded as a failed op and fails the run.
 */
import { config } from "../config.ts";
import { withContext } from "../context.ts";
import { AppError, InternalError } from "../errors.ts";
import * as Failures from "../failures/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import type { PendingSuccess } from "../platform/idempotency/index.ts";
import { log } from "../platform/logger.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import { done, type QueueOutcome } from "../platform/queue-outcome.ts";
import { refsIn } from "../platform/step-refs.ts";
import * as Skills from "../skills/index.ts";
import { workflowMetrics as m } from "./metrics.ts";
import * as osql from "./ops.sql.ts";
import { resolveArgs } from "./refs.ts";
import type { StepMessage, WorkflowStep } from "./schema.ts";
import { RunStates } from "./states.ts";
import { recordFailure, stepRetryDelayS } from "./step-failure.ts";
import { finish, type Locked, type Outcome, opKey } from "./step-finish.ts";
import { stepOutbox } from "./step-outbox.ts";
import { keptStep, type RunAtStep, readAtStep } from "./step-read.ts";
import * as sql from "./workflows.sql.ts";

export { opKey } from "./step-finish.ts";

/**
 * The recorded results of the earlier steps `step`'s args name (`$ref: steps.<id>...`), by step
 * id; none read when it names none (most steps), never the whole log.
 */
async function earlierResults(
  run: sql.RunRow,
  step: WorkflowStep,
  known: ReadonlyMap<string, unknown>,
): Promise<ReadonlyMap<string, unknown>> {
  const ids = new Set<string>();
  for (const { ref } of refsIn(step.args, "args")) if (ref.startsWith("steps.")) ids.add(ref.split(".")[1] as string);
  if (ids.size === 0) return new Map();
  // Results this delivery recorded itself (a chain's earlier ops) need no read.
  if ([...ids].every((id) => known.has(id))) return known;
  const { rows } = await query<{ step_id: string; result: unknown }>(osql.resultsOf, [run.id, run.tenant_id, [...ids]]);
  return new Map(rows.map((o) => [o.step_id, o.result]));
}

async function call(
  run: sql.RunRow,
  step: WorkflowStep,
  opIndex: number,
  known: ReadonlyMap<string, unknown>,
): Promise<Outcome | { inProgressS: number }> {
  let args: unknown = step.args;
  let [cost, units] = [0, 0];
  try {
    args = resolveArgs(step.id, step.args, run.input, await earlierResults(run, step, known));
    const parsed = Skills.validateArgs(step.skill, args, `steps.${step.id}.args`);
    [cost, units] = [Skills.cost(step.skill, parsed), Skills.units(step.skill, parsed)];
  } catch (e) {
    if (e instanceof AppError && e.kind === "validation")
      return { ok: false, args, version: Skills.spec(step.skill).version, durationMs: null, error: e };
    throw e;
  }
  try {
    // The key's success is stored with the op (the fold, step-finish.ts), not in a statement of its own.
    let pending: PendingSuccess | undefined;
    const r = await Skills.execute(step.skill, args, {
      idempotencyKey: opKey(run.id, opIndex),
      runId: run.id,
      opIndex,
      charge: false,
      argsField: `steps.${step.id}.args`,
      deferSuccess: (p) => {
        pending = p;
      },
      ...(step.timeout_s ? { timeoutMs: step.timeout_s * 1000 } : {}),
    });
    return { ok: true, args, result: r.result, version: r.version, durationMs: r.duration_ms, cost, units, pending };
  } catch (e) {
    // Another holder of the op's key (a live delivery, or a dead one whose lease runs): try again when it ends.
    if (e instanceof AppError && e.code === "skills.in_progress") return { inProgressS: e.retryAfterS ?? 1 };
    const error = e instanceof AppError ? e : new InternalError(`${step.skill} failed`, { cause: e });
    return { ok: false, args, units, version: Skills.spec(step.skill).version, durationMs: null, error };
  }
}

/**
 * Run the op a message names. `done` for a stale message (the run moved on or ended), after the
 * op is recorded, after a retryable failure was sent again, or when another delivery holds the
 * op's idempotency key (the message sent again, due when that key's lease ends).
 *
 * @example
 *   const outcome = await Workflows.runStep({ v: 1, tenantId, runId, opIndex: 0 });
 */
export async function runStep(msg: StepMessage): Promise<QueueOutcome> {
  const began = clock().nowMs();
  const chainMs = config().workflows.stepChainS * 1000;
  const chained: Chained = { results: new Map() };
  for (let opIndex = msg.opIndex; ; opIndex++) {
    // Another op in this delivery only while the chain's time lasts; else the fold sends its message.
    const chain = clock().nowMs() - began < chainMs;
    const r = await runOp({ ...msg, opIndex }, chain, chained);
    if (r !== "next") return r;
  }
}

/**
 * What a chain carries from one op to the next: the run as the last fold left it (so the next op
 * does not read it again; its own fold guards it) and the results its ops recorded (`$ref`s).
 */
interface Chained {
  run?: RunAtStep;
  results: Map<string, unknown>;
}

/** The run and the step at the message's op: carried by the chain, else read. */
async function atStep(msg: StepMessage, chained: Chained) {
  const run = chained.run;
  if (run && run.next_op_index === msg.opIndex) {
    const step = keptStep(run.definition_id, msg.opIndex);
    if (step !== undefined) return { run, step };
  }
  return readAtStep(msg.runId, msg.tenantId, msg.opIndex);
}

/** One op; "next" when it was recorded, the run moved on, and the caller is to run the next op. */
function runOp(msg: StepMessage, chain: boolean, chained: Chained): Promise<QueueOutcome | "next"> {
  const ctx = {
    requestId: `wf:${msg.runId}:${msg.opIndex}`,
    correlationId: msg.runId,
    actor: { type: "system" as const, name: "workflow-steps", tenantId: msg.tenantId },
  };
  return withContext(ctx, async () => {
    const read = await atStep(msg, chained);
    const run = read?.run;
    if (!run || run.status !== RunStates.running || run.next_op_index !== msg.opIndex) return done();
    const step = read.step;
    if (!step) return done();
    const started = clock().now();
    const outcome = await call(run, step, msg.opIndex, chained.results);
    if ("inProgressS" in outcome) {
      await resendWhenFree(run, msg.opIndex, outcome.inProgressS);
      return done();
    }
    if (!outcome.ok) {
      const attempt = run.attempt + 1;
      if (!Failures.wasRecorded(outcome.error)) recordFailure(run, step, msg.opIndex, outcome.error, attempt);
      // The failure catalog decides (its entry's is_retryable and backoff; unmatched: one retry at most).
      const d = await Failures.retryDecision(outcome.error, {
        retryable: outcome.error.retryable,
        maxAttempts: config().workflows.stepMaxAttempts,
      });
      if (d.retryable && attempt < d.maxAttempts) {
        await retryLater(run, msg.opIndex, outcome.error, stepRetryDelayS(d, attempt));
        return done();
      }
    }
    const moved = await finish(run, step, msg.opIndex, outcome, started, chain);
    if (!moved || !outcome.ok) return done();
    chained.run = moved;
    chained.results.set(step.id, outcome.result);
    return "next";
  });
}

/**
 * Op `opIndex`'s message sent again after `delayS` (SQS's delay, at most 900 s), in a transaction
 * that locks the run and first lets `also` write (an attempt counted); nothing when the run moved
 * on or ended meanwhile.
 */
async function sendAgainLater(
  run: sql.RunRow,
  opIndex: number,
  delayS: number,
  also?: (r: Locked) => Promise<void>,
): Promise<void> {
  await withTx(async () => {
    const { rows } = await query<Locked>(sql.lockRun, [run.id, run.tenant_id]);
    const r = rows[0];
    if (!r || r.status !== RunStates.running || r.next_op_index !== opIndex) return;
    await also?.(r);
    enqueueAfterCommit(stepOutbox, [{ id: r.id, tenant_id: r.tenant_id, next_op_index: opIndex }], {
      delayS: Math.min(900, Math.max(0, Math.ceil(delayS))),
    });
  });
}

/**
 * The op's key is held (another delivery runs it, or one that died holds it until its lease
 * ends): its message is sent again to arrive when the lease ends, not after the queue's
 * visibility timeout (150 s). Then the holder's op is recorded (the message is stale) or its
 * lease is over and the op runs.
 */
async function resendWhenFree(run: sql.RunRow, opIndex: number, afterS: number): Promise<void> {
  await sendAgainLater(run, opIndex, afterS);
  log.info("workflow step's op is running elsewhere; sent again for when its key is free", {
    runId: run.id,
    opIndex,
    afterS,
  });
}

/** A failure the catalog retries, attempts left: one more attempt counted, the message sent again after the delay. */
async function retryLater(run: sql.RunRow, opIndex: number, error: AppError, delayS: number): Promise<void> {
  await sendAgainLater(run, opIndex, delayS, async (r) => {
    await query(sql.moveRun, [r.id, r.tenant_id, r.status, opIndex, r.attempt + 1, 0, null, null, clock().now(), 0]);
    afterCommit(() => m.stepRetries.inc());
  });
  log.warn("workflow step failed, retrying", {
    runId: run.id,
    opIndex,
    code: error.code,
    attempt: run.attempt + 1,
    delayS,
  });
}
