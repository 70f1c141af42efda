/**
 * Workflows end to end through the handlers: definitions (versions, refs and args checked at
 * registration), runs over the real WorkflowSteps queue running real kv_store steps on Redis,
 * the audit log (hashes, chain, summary), credits (reserve = charge + release, invariants), a
 * step delivered twice and a worker that died after the skill ran (the side effect once), cancel
 * and the idempotency key of a run.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import { query } from "../../core/platform/db/index.ts";
import * as Skills from "../../core/skills/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { invoke } from "../events/index.ts";
import { checkedKeyedTenants, kvCounter } from "../factories/jobs.ts";
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

/** set -> get -> incr: the get's value is the incr's key's... increment (a ref to an earlier result). */
const counterSteps = (key: string) => [
  { id: "seed", skill: "kv_store", args: { op: "set", key: `${key}-step`, value: 5 } },
  { id: "read", skill: "kv_store", args: { op: "get", key: `${key}-step` } },
  {
    id: "bump",
    skill: "kv_store",
    args: { op: "incr", key: { $ref: "input.counter" }, value: { $ref: "steps.read.result.value" } },
  },
];

const getRun = async (key: string, id: string) => (await invoke("GET", `/api/v1/workflows/runs/${id}`, { key })).body;

beforeAll(async () => {
  await stepMessages();
});

describe("definitions", () => {
  it("registers version 1, answers it again for the same steps, and version 2 when they change", async () => {
    const t = await tenant();
    const name = `wf-${tag()}`;
    const v1 = await invoke("POST", "/api/v1/workflows", {
      key: t.keys.agent.key,
      body: { name, steps: counterSteps("k") },
    });
    expect(v1.status, v1.text).toBe(201);
    expect(v1.body).toMatchObject({ name, version: 1, versions: [1] });
    const again = await invoke("POST", "/api/v1/workflows", {
      key: t.keys.agent.key,
      body: { name, steps: counterSteps("k") },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: v1.body.id, version: 1 });
    const v2 = await invoke("POST", "/api/v1/workflows", {
      key: t.keys.agent.key,
      body: { name, steps: counterSteps("k2") },
    });
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({ version: 2, versions: [1, 2] });

    const latest = await invoke("GET", `/api/v1/workflows/${name}`, { key: t.keys.viewer.key });
    expect(latest.body.version).toBe(2);
    const first = await invoke("GET", `/api/v1/workflows/${name}`, { key: t.keys.viewer.key, query: { version: "1" } });
    expect(first.body.steps[0].args.key).toBe("k-step");
    const list = await invoke("GET", "/api/v1/workflows", { key: t.keys.viewer.key });
    expect(list.body.data.map((w: { name: string; version: number }) => [w.name, w.version])).toEqual([[name, 2]]);
    expect((await invoke("GET", "/api/v1/workflows/nope", { key: t.keys.viewer.key })).status).toBe(404);
  });

  it("refuses an unknown skill, a ref to a later or unknown step, a bad ref and args the skill refuses, naming each field", async () => {
    const t = await tenant();
    const res = await invoke("POST", "/api/v1/workflows", {
      key: t.keys.agent.key,
      body: {
        name: `bad-${tag()}`,
        steps: [
          { id: "a", skill: "kv_store", args: { op: "get", key: { $ref: "steps.b.result.value" } } },
          { id: "b", skill: "no_such_skill", args: {} },
          { id: "c", skill: "kv_store", args: { op: "get", key: { $ref: "steps.zz.result" } } },
          { id: "d", skill: "kv_store", args: { op: "incr", key: "k", value: "not a number" } },
          { id: "e", skill: "kv_store", args: { op: "get", key: { $ref: "output.x" } } },
          { id: "a", skill: "kv_store", args: { op: "get", key: "k" } },
        ],
      },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe("workflows.invalid_steps");
    const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "body.steps.0.args.key",
        "body.steps.1.skill",
        "body.steps.2.args.key",
        "body.steps.3.args.value",
        "body.steps.4.args.key",
        "body.steps.5.id",
      ]),
    );
    // A field a ref fills is not held against the skill's schema; the same steps with refs in order pass.
    const ok = await invoke("POST", "/api/v1/workflows", {
      key: t.keys.agent.key,
      body: { name: `ok-${tag()}`, steps: counterSteps("x") },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(
      (
        await invoke("POST", "/api/v1/workflows", {
          key: t.keys.agent.key,
          body: { name: "runs", steps: counterSteps("x") },
        })
      ).status,
    ).toBe(400);
  });
});

describe("runs", () => {
  it("runs its steps one after another over the queue: ops hashed and chained, summary, credits exact, history", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    const counter = `c-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, counterSteps(counter));
    const run = await startRun(t.keys.agent.key, name, { input: { counter } });
    expect(run).toMatchObject({ status: "running", version: 1, steps_total: 3, next_op_index: 0 });
    expect(run.credits).toEqual({ reserved: 3, charged: 0 });
    // The reserve is CostSim V1's estimate of the run, kept beside what it actually cost.
    expect(run.estimate).toMatchObject({ version: "v1", from_op_index: 0, credits: 3 });
    expect(run.estimate.duration_ms).toBeGreaterThan(0);
    expect(run.estimate.plan_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(run.actual).toBeNull();

    expect(await drainSteps()).toBe(1); // one delivery runs the three ops (WORKFLOW_STEP_CHAIN_S)
    const done = await getRun(t.keys.viewer.key, run.id);
    expect(done.status).toBe("completed");
    expect(
      done.ops.map((o: { op_index: number; step_id: string; status: string }) => [o.op_index, o.step_id, o.status]),
    ).toEqual([
      [0, "seed", "succeeded"],
      [1, "read", "succeeded"],
      [2, "bump", "succeeded"],
    ]);
    const bump = done.ops[2];
    expect(bump.args).toEqual({ op: "incr", key: counter, value: 5 });
    expect(bump.args_hash).toBe(Workflows.hashJson(bump.args));
    expect(bump.result_hash).toBe(Workflows.hashJson(bump.result));
    expect(bump.idempotency_key).toBe(`wf:${run.id}:2`);
    expect(done.ops[0].prev_hash).toBeNull();
    expect(done.ops[1].prev_hash).toBe(done.ops[0].hash);
    expect(done.head_hash).toBe(bump.hash);
    expect(Workflows.checkChain(run.id, done.ops, done.head_hash)).toEqual([]);
    expect(done.summary).toMatchObject({ total_ops: 3, completed_ops: 3, failed_ops: 0 });
    expect(done.credits).toEqual({ reserved: 3, charged: 3 });
    expect(done.estimate).toEqual(run.estimate);
    expect(done.actual.credits).toBe(3);
    // From creation to finish (the timestamps are shown to the ms, the duration rounded from µs).
    expect(
      Math.abs(done.actual.duration_ms - (Date.parse(done.finished_at) - Date.parse(done.created_at))),
    ).toBeLessThanOrEqual(1);
    expect(await kvCounter(t.tenant.id, counter)).toBe(5);
    await assertRunCredits(run.id);
    expect(await runLedger(run.id)).toEqual({
      reserve: { n: 1, amount: 3 },
      charge: { n: 3, amount: 3 },
      release: { n: 1, amount: 0 },
    });
    const { rows } = await query<{ old_status: string | null; new_status: string }>(
      "select old_status, new_status from status_history where entity_type = 'workflow_run' and entity_id = $1 order by id",
      [run.id],
    );
    expect(rows).toEqual([
      { old_status: null, new_status: "running" },
      { old_status: "running", new_status: "completed" },
    ]);
    const listed = await invoke("GET", "/api/v1/workflows/runs", { key: t.keys.viewer.key, query: { workflow: name } });
    expect(listed.body.data.map((r: { id: string }) => r.id)).toEqual([run.id]);
  });

  it(
    "a step delivered twice, and one whose worker died after the skill ran, change the counter once; the ledger is exact",
    oneOpPerMessage(async () => {
      const t = await tenant(50);
      const name = `wf-${tag()}`;
      const counter = `c-${tag()}`;
      await registerWorkflow(t.keys.agent.key, name, [
        { id: "one", skill: "kv_store", args: { op: "incr", key: { $ref: "input.counter" } } },
        { id: "two", skill: "kv_store", args: { op: "incr", key: { $ref: "input.counter" }, value: 10 } },
      ]);
      const run = await startRun(t.keys.agent.key, name, { input: { counter } });
      const [first] = await stepMessages(1);
      // The same message twice in one batch (the copy that finds the op running elsewhere is sent
      // again, due when the key's lease ends), and once more afterwards.
      expect((await runSteps([first, first])).length).toBeLessThanOrEqual(1);
      await runSteps([first]);
      expect(await kvCounter(t.tenant.id, counter)).toBe(1);

      // A worker ran op 1's skill under its key and died before recording it: the message comes
      // back, the call replays the stored result, the counter moves once.
      const [second] = await stepMessages(1);
      expect(second).toMatchObject({ runId: run.id, opIndex: 1 });
      await withContext(
        {
          requestId: "dead-worker",
          correlationId: "x",
          actor: { type: "system", name: "workflow-steps", tenantId: t.tenant.id },
        },
        () =>
          Skills.execute(
            "kv_store",
            { op: "incr", key: counter, value: 10 },
            {
              idempotencyKey: Workflows.opKey(run.id, 1),
              runId: run.id,
              opIndex: 1,
              charge: false,
            },
          ),
      );
      expect(await kvCounter(t.tenant.id, counter)).toBe(11);
      await runSteps([second, second]);
      expect(await kvCounter(t.tenant.id, counter)).toBe(11);
      const done = await getRun(t.keys.viewer.key, run.id);
      expect(done.status).toBe("completed");
      expect(done.ops.map((o: { result: { value: number } }) => o.result.value)).toEqual([1, 11]);
      await assertRunCredits(run.id);
      expect((await runLedger(run.id)).charge).toEqual({ n: 2, amount: 2 });
    }),
  );

  it("a lost step message is sent again by the sweeper", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, [{ id: "one", skill: "kv_store", args: { op: "get", key: "x" } }]);
    const run = await startRun(t.keys.agent.key, name);
    const lost = await stepMessages(1);
    expect(lost, JSON.stringify(lost)).toHaveLength(1); // lost
    // Past the outbox's resend delay: the sweeper sends it again.
    await query("update workflow_runs set enqueued_at = enqueued_at - interval '2 hours' where id = $1", [run.id]);
    const { handler } = await import("../../functions/cron/workflow-sweep.ts");
    const { scheduledEvent, lambdaContext } = await import("../events/index.ts");
    await handler(scheduledEvent(), lambdaContext());
    expect(await drainSteps()).toBe(1);
    expect((await getRun(t.keys.viewer.key, run.id)).status).toBe("completed");
    await assertRunCredits(run.id);
  });

  it("a step whose args the skill refuses at run time fails the run; the rest of the reserve is released", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, [
      { id: "ok", skill: "kv_store", args: { op: "get", key: "x" } },
      { id: "bad", skill: "kv_store", args: { op: "incr", key: "x", value: { $ref: "input.by" } } },
      { id: "never", skill: "kv_store", args: { op: "get", key: "y" } },
    ]);
    const run = await startRun(t.keys.agent.key, name, { input: { by: "ten" } });
    await drainSteps();
    const done = await getRun(t.keys.viewer.key, run.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "validation.invalid_input", op_index: 1 });
    expect(done.ops.map((o: { status: string }) => o.status)).toEqual(["succeeded", "failed"]);
    expect(done.ops[1].result_hash).toBeNull();
    expect(done.summary).toMatchObject({ total_ops: 2, completed_ops: 1, failed_ops: 1 });
    await assertRunCredits(run.id);
    expect(await runLedger(run.id)).toMatchObject({ charge: { n: 1, amount: 1 }, release: { n: 1, amount: 2 } });
  });

  it(
    "cancel releases the rest; a second cancel answers the same; a finished run is 409",
    oneOpPerMessage(async () => {
      const t = await tenant(50);
      const name = `wf-${tag()}`;
      await registerWorkflow(t.keys.agent.key, name, counterSteps(`c-${tag()}`));
      const run = await startRun(t.keys.agent.key, name, { input: { counter: "n" } });
      const [first] = await stepMessages(1);
      await runSteps([first]);
      const cancelled = await invoke("POST", `/api/v1/workflows/runs/${run.id}/cancel`, {
        key: t.keys.agent.key,
        body: {},
      });
      expect(cancelled.status, cancelled.text).toBe(200);
      expect(cancelled.body).toMatchObject({ status: "cancelled", next_op_index: 1 });
      const again = await invoke("POST", `/api/v1/workflows/runs/${run.id}/cancel`, {
        key: t.keys.agent.key,
        body: {},
      });
      expect(again.body.status).toBe("cancelled");
      expect(await drainSteps()).toBe(1); // the next op's message: stale, nothing runs
      expect((await getRun(t.keys.viewer.key, run.id)).ops).toHaveLength(1);
      await assertRunCredits(run.id);
      expect(await runLedger(run.id)).toMatchObject({ charge: { n: 1, amount: 1 }, release: { n: 1, amount: 2 } });

      const other = await startRun(t.keys.agent.key, name, { input: { counter: "n" } });
      await drainSteps();
      const late = await invoke("POST", `/api/v1/workflows/runs/${other.id}/cancel`, {
        key: t.keys.agent.key,
        body: {},
      });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe("workflows.run_not_running");
    }),
  );

  it("an idempotency_key answers the first run again; with another input it is 409; without credits 402 writes nothing", async () => {
    const t = await tenant(5);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, counterSteps(`c-${tag()}`));
    const body = { input: { counter: "n" }, idempotency_key: "nightly-1" };
    const a = await startRun(t.keys.agent.key, name, body);
    const b = await invoke("POST", `/api/v1/workflows/${name}/runs`, { key: t.keys.agent.key, body });
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.id);
    expect(b.headers["idempotent-replayed"]).toBe("true");
    const c = await invoke("POST", `/api/v1/workflows/${name}/runs`, {
      key: t.keys.agent.key,
      body: { ...body, input: { counter: "m" } },
    });
    expect(c.status).toBe(409);
    expect(c.body.error.code).toBe("workflows.idempotency_key_reused");
    // 5 granted, 3 reserved: a second run does not fit.
    const d = await invoke("POST", `/api/v1/workflows/${name}/runs`, {
      key: t.keys.agent.key,
      body: { input: { counter: "n" } },
    });
    expect(d.status).toBe(402);
    expect(d.body.error.code).toBe("credits.insufficient");
    await drainSteps();
    await assertRunCredits(a.id);
    const { rows } = await query("select id from workflow_runs where tenant_id = $1", [t.tenant.id]);
    expect(rows).toHaveLength(1);
  });
});
