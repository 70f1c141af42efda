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
import { withContext } from "../../core/context.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { finish } from "../../core/workflows/step-finish.ts";
import { readAtStep } from "../../core/workflows/step-read.ts";
import { invoke } from "../events/index.ts";
import { checkedKeyedTenants } from "../factories/jobs.ts";
import {
  assertRunCredits,
  drainSteps,
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

/** The run as the worker reads it before its call (readAtStep), and the step at `opIndex`. */
async function readAsWorker(runId: string, tenantId: string, opIndex: number) {
  const read = await readAtStep(runId, tenantId, opIndex);
  if (!read?.step) throw new Error(`run ${runId} has no op ${opIndex}`);
  return { ...read.run, step: read.step };
}

/** `finish` of op `opIndex` of the run read as `run`, succeeded with `result`, as the worker calls it. */
const finishAs = (tenantId: string, run: Awaited<ReturnType<typeof readAsWorker>>, opIndex: number, result: unknown) =>
  withContext(
    { requestId: "test", correlationId: run.id, actor: { type: "system", name: "workflow-steps", tenantId } },
    () =>
      finish(
        run,
        run.step,
        opIndex,
        { ok: true, args: run.step.args, result, version: "1.0.0", durationMs: 1, cost: 1, units: 1 },
        new Date(),
      ),
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
  it("a stale second delivery of the same op (read before the first was recorded) writes nothing", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, threeSets(`k-${tag()}`));
    const run = await startRun(t.keys.agent.key, name);
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
  });

  it("stamps the run for its next message, so the sweeper does not send it again", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, threeSets(`k-${tag()}`));
    const c = new ManualClock(Date.now());
    setClock(c);
    const run = await startRun(t.keys.agent.key, name); // stamped now (the start's send)
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
  });

  it("a run cancelled between the call and the write: the op is recorded, not charged; the reserve was released", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, threeSets(`k-${tag()}`));
    const run = await startRun(t.keys.agent.key, name);
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
