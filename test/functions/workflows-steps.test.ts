/**
 * The end of a workflow step (core/workflows/step-finish.ts): the common case in one statement
 * (step.sql.ts finishOp) whose guard lets a stale delivery write nothing, that stamps the run for
 * its next message as the outbox's sendStamped protocol says (so the sweeper does not send it
 * again), and that leaves a run cancelled between the call and the write to the transaction
 * (the op recorded, not charged). Real Postgres, Redis and fauxqs; the step's `finish` is called
 * with the run as the worker read it before its call, as a delivery that lost a race would.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { configOverrides, replaceConfigOverrides, setConfig } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import type { PendingSuccess } from "../../core/platform/idempotency/index.ts";
import { hashArgs } from "../../core/platform/idempotency/index.ts";
import * as SkillKeys from "../../core/skills/idempotency.ts";
import * as Skills from "../../core/skills/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { finish, type Outcome } from "../../core/workflows/step-finish.ts";
import { readAtStep } from "../../core/workflows/step-read.ts";
import { invoke } from "../events/index.ts";
import { checkedKeyedTenants } from "../factories/jobs.ts";
import {
  assertRunCredits,
  drainSteps,
  oneOpPerMessage,
  registerWorkflow,
  runLedger,
  runSteps,
  startRun,
  stepMessages,
} from "../factories/workflows.ts";

const tenant = checkedKeyedTenants();
const tag = () => randomBytes(4).toString("hex");

beforeAll(async () => {
  await stepMessages();
});
afterEach(() => setClock(systemClock));

const threeSets = (key: string) =>
  [0, 1, 2].map((i) => ({ id: `s${i}`, skill: "kv_store", args: { op: "set", key: `${key}-${i}`, value: i } }));

/** A tenant with 50 credits, a workflow of threeSets registered, and a run of it started. */
async function threeSetsRun() {
  const t = await tenant(50);
  const name = `wf-${tag()}`;
  await registerWorkflow(t.keys.agent.key, name, threeSets(`k-${tag()}`));
  return { t, name, run: await startRun(t.keys.agent.key, name) };
}

/** The run as the worker reads it before its call (readAtStep), and the step at `opIndex`. */
async function readAsWorker(runId: string, tenantId: string, opIndex: number) {
  const read = await readAtStep(runId, tenantId, opIndex);
  if (!read?.step) throw new Error(`run ${runId} has no op ${opIndex}`);
  return { ...read.run, step: read.step };
}

/** `finish` of op `opIndex` of the run read as `run`, succeeded with `result`, as the worker calls it. */
const finishAs = (
  tenantId: string,
  run: Awaited<ReturnType<typeof readAsWorker>>,
  opIndex: number,
  result: unknown,
  chain = false,
  outcome: Outcome = { ok: true, args: run.step.args, result, version: "1.0.0", durationMs: 1, cost: 1, units: 1 },
) =>
  withContext(
    { requestId: "test", correlationId: run.id, actor: { type: "system", name: "workflow-steps", tenantId } },
    () => finish(run, run.step, opIndex, outcome, new Date(), chain),
  );

const opsOf = async (runId: string) =>
  (
    await query<{ op_index: number; credits: number }>(
      "select op_index, CAST(credits AS float8) as credits from workflow_ops where workflow_run_id = $1 order by op_index",
      [runId],
    )
  ).rows;

const runRow = async (runId: string) =>
  (
    await query<{ status: string; next_op_index: number; enqueued_at: Date | null }>(
      "select status, next_op_index, enqueued_at from workflow_runs where id = $1",
      [runId],
    )
  ).rows[0];

describe("a step's op in one statement", () => {
  it(
    "a stale second delivery of the same op (read before the first was recorded) writes nothing",
    oneOpPerMessage(async () => {
      const { t, run } = await threeSetsRun();
      await stepMessages(1);
      // Two deliveries of op 0 read the run before either recorded it.
      const first = await readAsWorker(run.id, t.tenant.id, 0);
      const second = await readAsWorker(run.id, t.tenant.id, 0);
      await finishAs(t.tenant.id, first, 0, { op: "set" });
      expect(await stepMessages(1)).toEqual([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 1 }]);
      await finishAs(t.tenant.id, second, 0, { op: "set" });

      expect(await opsOf(run.id)).toEqual([{ op_index: 0, credits: 1 }]);
      expect(await runLedger(run.id)).toEqual({ reserve: { n: 1, amount: 3 }, charge: { n: 1, amount: 1 } });
      expect(await runRow(run.id)).toMatchObject({ status: "running", next_op_index: 1 });
      expect(await stepMessages()).toEqual([]); // the stale delivery sent nothing either
      await runSteps([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 1 }]);
      expect(await drainSteps()).toBe(1);
      const done = (await invoke("GET", `/api/v1/workflows/runs/${run.id}`, { key: t.keys.viewer.key })).body;
      expect(done.status).toBe("completed");
      expect(Workflows.checkChain(run.id, done.ops, done.head_hash)).toEqual([]);
      await assertRunCredits(run.id);
    }),
  );

  it(
    "stamps the run for its next message, so the sweeper does not send it again",
    oneOpPerMessage(async () => {
      const c = new ManualClock(Date.now());
      setClock(c);
      const { t, run } = await threeSetsRun(); // stamped now (the start's send)
      const [op0] = await stepMessages(1);
      // Op 0 ends 1,100 s later (within the outbox's 1,200 s resend delay of the start's stamp only).
      c.advance(1_100_000);
      await runSteps([op0]);
      expect((await runRow(run.id))?.enqueued_at?.getTime()).toBe(c.nowMs());
      expect(await stepMessages(1)).toEqual([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 1 }]);
      // 1,300 s after the start, 200 s after op 0's send: not due.
      c.advance(200_000);
      await Workflows.sweep();
      expect(await stepMessages()).toEqual([]);
      expect((await runRow(run.id))?.enqueued_at?.getTime()).toBe(c.nowMs() - 200_000);
      // Past op 0's send's resend delay, the sweeper does send it again.
      c.advance(1_100_000);
      expect((await Workflows.sweep()).resent).toBe(1);
      expect(await stepMessages(1)).toEqual([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 1 }]);
      setClock(systemClock);
      expect(await drainSteps()).toBe(0);
      await runSteps([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 1 }]);
      expect(await drainSteps()).toBe(1);
      expect((await runRow(run.id))?.status).toBe("completed");
      await assertRunCredits(run.id);
    }),
  );

  it("a run cancelled between the call and the write: the op is recorded, not charged; the reserve was released", async () => {
    const { t, run } = await threeSetsRun();
    await stepMessages(1);
    const before = await readAsWorker(run.id, t.tenant.id, 0);
    const cancelled = await invoke("POST", `/api/v1/workflows/runs/${run.id}/cancel`, {
      key: t.keys.agent.key,
      body: {},
    });
    expect(cancelled.status, cancelled.text).toBe(200);
    await finishAs(t.tenant.id, before, 0, { op: "set" });

    expect(await opsOf(run.id)).toEqual([{ op_index: 0, credits: 0 }]);
    expect(await runRow(run.id)).toMatchObject({ status: "cancelled", next_op_index: 1 });
    expect(await runLedger(run.id)).toEqual({ reserve: { n: 1, amount: 3 }, release: { n: 1, amount: 3 } });
    expect(await stepMessages()).toEqual([]);
    await assertRunCredits(run.id);
  });
});

describe("the op's idempotency record", () => {
  /** Op `opIndex`'s skill called as a step calls it: its success left for the step to store. */
  async function called(tenantId: string, run: Awaited<ReturnType<typeof readAsWorker>>, opIndex: number) {
    let pending: PendingSuccess | undefined;
    const r = await withContext(
      { requestId: "test", correlationId: run.id, actor: { type: "system", name: "workflow-steps", tenantId } },
      () =>
        Skills.execute(run.step.skill, run.step.args, {
          idempotencyKey: Workflows.opKey(run.id, opIndex),
          runId: run.id,
          opIndex,
          charge: false,
          deferSuccess: (p) => {
            pending = p;
          },
        }),
    );
    if (!pending) throw new Error("no pending success");
    return {
      ok: true as const,
      args: run.step.args,
      result: r.result,
      version: r.version,
      durationMs: 1,
      cost: 1,
      units: 1,
      pending,
    };
  }
  const recordOf = async (runId: string, opIndex: number) =>
    (
      await query<{ status: string; result: unknown }>(
        "select status, result from skill_executions where idempotency_key = $1",
        [Workflows.opKey(runId, opIndex)],
      )
    ).rows;
  it(
    "is stored succeeded by the statement that records the op, by the transaction when the fold does not apply, and when the fold's guard fails",
    oneOpPerMessage(async () => {
      const { t, name, run } = await threeSetsRun();
      await stepMessages(1);
      // Op 0: the fold.
      const r0 = await readAsWorker(run.id, t.tenant.id, 0);
      const o0 = await called(t.tenant.id, r0, 0);
      expect(await recordOf(run.id, 0)).toEqual([{ status: "running", result: null }]);
      await finishAs(t.tenant.id, r0, 0, o0.result, false, o0);
      expect(await recordOf(run.id, 0)).toEqual([{ status: "succeeded", result: { op: "set" } }]);
      // A second call with the key replays the stored result: the side effect is not run again.
      const again = await withContext(
        {
          requestId: "test",
          correlationId: run.id,
          actor: { type: "system", name: "workflow-steps", tenantId: t.tenant.id },
        },
        () =>
          Skills.execute(r0.step.skill, r0.step.args, {
            idempotencyKey: Workflows.opKey(run.id, 0),
            charge: false,
            deferSuccess: () => {
              throw new Error("a replay has nothing to store");
            },
          }),
      );
      expect(again).toMatchObject({ replayed: true, result: { op: "set" } });
      await stepMessages(1);
      // Op 1, cancelled between the call and the write: the fold's guard fails, the record is stored all the same.
      const r1 = await readAsWorker(run.id, t.tenant.id, 1);
      const o1 = await called(t.tenant.id, r1, 1);
      expect(
        (await invoke("POST", `/api/v1/workflows/runs/${run.id}/cancel`, { key: t.keys.agent.key, body: {} })).status,
      ).toBe(200);
      await finishAs(t.tenant.id, r1, 1, o1.result, false, o1);
      expect(await recordOf(run.id, 1)).toEqual([{ status: "succeeded", result: { op: "set" } }]);
      expect(await opsOf(run.id)).toEqual([
        { op_index: 0, credits: 1 },
        { op_index: 1, credits: 0 },
      ]);
      await assertRunCredits(run.id);

      // The last op (no fold: the transaction ends the run).
      const other = await startRun(t.keys.agent.key, name);
      await runSteps(await stepMessages(1));
      await runSteps(await stepMessages(1));
      await stepMessages(1);
      const r2 = await readAsWorker(other.id, t.tenant.id, 2);
      const o2 = await called(t.tenant.id, r2, 2);
      await finishAs(t.tenant.id, r2, 2, o2.result, false, o2);
      expect(await recordOf(other.id, 2)).toEqual([{ status: "succeeded", result: { op: "set" } }]);
      expect((await runRow(other.id))?.status).toBe("completed");
      await assertRunCredits(other.id);
    }),
  );
});

describe("an op whose key another holds", () => {
  it(
    "is sent again to arrive when the holder's lease ends (not after the visibility timeout), then runs",
    oneOpPerMessage(async () => {
      const { t, run } = await threeSetsRun();
      const [op0] = await stepMessages(1);
      // A delivery that died inside op 0's call holds its key for 4 s more.
      const step = (await readAsWorker(run.id, t.tenant.id, 0)).step;
      const claim = await withContext(
        {
          requestId: "dead",
          correlationId: run.id,
          actor: { type: "system", name: "workflow-steps", tenantId: t.tenant.id },
        },
        () =>
          SkillKeys.begin({
            skill: "kv_store",
            version: "1.0.0",
            key: Workflows.opKey(run.id, 0),
            argsHash: hashArgs(Skills.validateArgs("kv_store", step.args)),
            leaseMs: 4_000,
          }),
      );
      expect(claim.kind).toBe("execute");
      const sentAt = Date.now();
      expect(await runSteps([op0])).toEqual([]); // acknowledged, not left to SQS's 150 s
      expect(await stepMessages()).toEqual([]); // not due yet
      expect((await runRow(run.id))?.next_op_index).toBe(0);
      await new Promise((r) => setTimeout(r, Math.max(0, 4_500 - (Date.now() - sentAt))));
      const [again] = await stepMessages(1);
      expect(again).toEqual({ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 0 });
      await runSteps([again]); // the lease is over: the op runs (its key taken over)
      expect((await runRow(run.id))?.next_op_index).toBe(1);
      expect(await drainSteps()).toBe(2);
      expect((await runRow(run.id))?.status).toBe("completed");
      await assertRunCredits(run.id);
    }),
  );
});

/**
 * A clock that moves `stepMs` on every reading (time passing as the code runs), so a chain's
 * time is spent after a known amount of work without sleeping.
 */
class TickingClock extends ManualClock {
  constructor(private readonly stepMs: number) {
    super(Date.now());
  }
  override nowMs(): number {
    this.advance(this.stepMs);
    return super.nowMs();
  }
  override now(): Date {
    return new Date(this.nowMs());
  }
}

describe("a delivery runs the run's next ops itself (WORKFLOW_STEP_CHAIN_S)", () => {
  it("one delivery records, charges and moves every op of a run; no message between ops", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    const key = `k-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, [
      { id: "s0", skill: "kv_store", args: { op: "set", key, value: 7 } },
      { id: "s1", skill: "kv_store", args: { op: "get", key } },
      { id: "s2", skill: "kv_store", args: { op: "set", key: `${key}-2`, value: { $ref: "steps.s1.result.value" } } },
    ]);
    const run = await startRun(t.keys.agent.key, name);
    const [first] = await stepMessages(1);
    expect(first).toMatchObject({ runId: run.id, opIndex: 0 });
    expect(await runSteps([first])).toEqual([]);

    expect(await runRow(run.id)).toMatchObject({ status: "completed", next_op_index: 3 });
    expect(await opsOf(run.id)).toEqual([0, 1, 2].map((i) => ({ op_index: i, credits: 1 })));
    expect(await stepMessages()).toEqual([]); // nothing was sent between the ops
    // The chained op's $ref came from the op before, recorded by the same delivery.
    const { rows } = await query<{ args: { value: unknown } }>(
      "select args from workflow_ops where workflow_run_id = $1 and op_index = 2",
      [run.id],
    );
    expect(rows[0]?.args.value).toBe(7);
    const verdict = await withContext(
      { requestId: "test", correlationId: run.id, actor: { type: "system", name: "test", tenantId: t.tenant.id } },
      () => Workflows.replay(run.id, { mode: "verify" }),
    );
    expect(verdict.status).toBe("verified");
    await assertRunCredits(run.id);
    expect(await runLedger(run.id)).toMatchObject({ charge: { n: 3, amount: 3 } });
  });

  it("stops when its time is spent: the op it stops at is sent as a message, and the run completes from it", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(
      t.keys.agent.key,
      name,
      [0, 1, 2, 3, 4, 5].map((i) => ({ id: `s${i}`, skill: "kv_store", args: { op: "set", key: `k-${i}`, value: i } })),
    );
    const run = await startRun(t.keys.agent.key, name);
    const [first] = await stepMessages(1);
    const restore = configOverrides();
    setConfig({ WORKFLOW_STEP_CHAIN_S: "1" });
    setClock(new TickingClock(150));
    try {
      expect(await runSteps([first])).toEqual([]);
    } finally {
      setClock(systemClock);
      replaceConfigOverrides(restore);
    }
    const row = await runRow(run.id);
    expect(row?.status).toBe("running");
    const stoppedAt = row?.next_op_index as number;
    // It ran more than one op, and not all six.
    expect(stoppedAt).toBeGreaterThan(1);
    expect(stoppedAt).toBeLessThan(6);
    expect(row?.enqueued_at).not.toBeNull(); // the op that ended the chain stamped the run: sent
    expect(await stepMessages(1)).toEqual([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: stoppedAt }]);
    await runSteps([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: stoppedAt }]);
    expect(await runRow(run.id)).toMatchObject({ status: "completed", next_op_index: 6 });
    await assertRunCredits(run.id);
  });

  it("an op recorded mid-chain leaves the run unstamped: if the worker dies there, the sweeper sends the next op after the unsent grace", async () => {
    const { t, run } = await threeSetsRun();
    await stepMessages(1);
    // Op 0 recorded as a chaining delivery records it; the worker then dies before op 1.
    const before = await readAsWorker(run.id, t.tenant.id, 0);
    await finishAs(t.tenant.id, before, 0, { op: "set" }, true);
    expect(await runRow(run.id)).toMatchObject({ status: "running", next_op_index: 1, enqueued_at: null });
    expect(await stepMessages()).toEqual([]);
    const { handler } = await import("../../functions/cron/workflow-sweep.ts");
    const { scheduledEvent, lambdaContext } = await import("../events/index.ts");
    await handler(scheduledEvent(), lambdaContext());
    expect(await stepMessages()).toEqual([]); // within the grace: not yet
    const clock = new ManualClock(Date.now() + 61_000);
    setClock(clock);
    await handler(scheduledEvent(), lambdaContext());
    setClock(systemClock);
    const resent = await stepMessages(1);
    expect(resent).toEqual([{ v: 1, tenantId: t.tenant.id, runId: run.id, opIndex: 1 }]);
    await runSteps(resent);
    expect(await runRow(run.id)).toMatchObject({ status: "completed", next_op_index: 3 });
    await assertRunCredits(run.id);
  });
});
