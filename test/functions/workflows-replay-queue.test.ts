/**
 * Replays through the WorkflowReplays queue (a run with more ops than WORKFLOW_REPLAY_MAX_OPS),
 * on real Postgres and the SQS stand-in: the replay answers pending, its message goes through the
 * replay outbox, the real worker verifies it; a message delivered twice gives one result; a
 * replay whose worker died is taken over; a live lease is retried; a lost message is re-sent by
 * the WorkflowSweep cron; another tenant's message or key reaches nothing. And skill_metrics'
 * units: a run of known steps gives the units each skill's cost model counts.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import type { ReplayMessage } from "../../core/workflows/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { handler as replaysHandler } from "../../functions/queue/workflow-replays.ts";
import { invoke, lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";
import { asKey, checkedKeyedTenants, jobsTenant } from "../factories/jobs.ts";
import { drainSteps, recordRun, registerWorkflow, startRun, stepMessages } from "../factories/workflows.ts";
import { withConfig } from "../setup/config-override.ts";
import { takeMessages } from "../setup/sqs-reader.ts";
import { startVoyageServer, type VoyageServer } from "../setup/voyage-server.ts";

const tenant = checkedKeyedTenants();
const tag = () => randomBytes(4).toString("hex");
const API_KEY = "vk-replay-queue-test";
let voyage: VoyageServer;

beforeAll(async () => {
  voyage = await startVoyageServer({ apiKey: API_KEY });
  await stepMessages();
  await replayMessages();
});
afterAll(() => voyage.close());

/** What the WorkflowReplays queue holds now (read and deleted). */
const replayMessages = (want = 0) => takeMessages<ReplayMessage>("WorkflowReplays", want);

/** The WorkflowReplays handler over `messages`; the ids of records to retry. */
async function deliver(messages: readonly unknown[]): Promise<string[]> {
  const r = await replaysHandler(sqsEvent(messages as unknown[]), lambdaContext());
  return r.batchItemFailures.map((f) => f.itemIdentifier);
}

const steps = [
  { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: 1 } },
  { id: "get", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
  { id: "bump", skill: "kv_store", args: { op: "incr", key: { $ref: "input.key" } } },
];

/** A finished 3-op run of `steps` made by the real runner; the tenant and the run id. */
async function finishedRun() {
  const t = await tenant(50);
  const name = `wf-${tag()}`;
  await registerWorkflow(t.keys.agent.key, name, steps);
  const run = await startRun(t.keys.agent.key, name, { input: { key: `k-${tag()}` } });
  expect(await drainSteps()).toBe(1); // one delivery runs every op (WORKFLOW_STEP_CHAIN_S)
  return { t, runId: run.id as string };
}

/** POST .../replay with WORKFLOW_REPLAY_MAX_OPS 2: a 3-op run goes through the queue. */
const replayQueued = (key: string, runId: string, body: Record<string, unknown> = {}) =>
  withConfig({ WORKFLOW_REPLAY_MAX_OPS: "2" }, () =>
    invoke("POST", `/api/v1/workflows/runs/${runId}/replay`, { key, body }),
  );

const getReplay = (key: string, runId: string, replayId: string) =>
  invoke("GET", `/api/v1/workflows/runs/${runId}/replays/${replayId}`, { key });

const replayRow = async (id: string) =>
  (
    await query<{ status: string; completed_at: Date | null; ops_total: number | null }>(
      "select status, completed_at, ops_total from replay_runs where replay_id = $1",
      [id],
    )
  ).rows[0];

describe("a replay through the WorkflowReplays queue", () => {
  it("a run with more ops than WORKFLOW_REPLAY_MAX_OPS answers pending; the worker verifies it", async () => {
    const { t, runId } = await finishedRun();
    const res = await replayQueued(t.keys.agent.key, runId);
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ status: "pending", ops_total: null, ops_verified: null, completed_at: null });
    expect(res.headers?.location).toBe(`/api/v1/workflows/runs/${runId}/replays/${res.body.replay_id}`);
    expect((await getReplay(t.keys.viewer.key, runId, res.body.replay_id)).body.status).toBe("pending");

    const msgs = await replayMessages(1);
    expect(msgs).toEqual([{ v: 1, tenantId: t.tenant.id, replayId: res.body.replay_id }]);
    expect(await deliver(msgs)).toEqual([]);
    const got = await getReplay(t.keys.viewer.key, runId, res.body.replay_id);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      status: "verified",
      ops_total: 3,
      ops_verified: 3,
      ops_failed: 0,
      ops_skipped: 0,
      first_mismatch_op_index: null,
      severity: null,
    });
    expect(got.body.completed_at).not.toBeNull();
  });

  it("the same run at the default limit is verified in the request (no message)", async () => {
    const { t, runId } = await finishedRun();
    const res = await invoke("POST", `/api/v1/workflows/runs/${runId}/replay`, { key: t.keys.agent.key, body: {} });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ status: "verified", ops_total: 3 });
    expect(await replayMessages()).toEqual([]);
  });

  it("a queued mismatch gets its first op, diff and severity", async () => {
    const w = await jobsTenant(0);
    const { workflow: def } = await asKey(w, () => Workflows.register({ name: `wf-${tag()}`, steps: steps as never }));
    const runId = await recordRun({
      tenantId: w.tenantId,
      definitionId: def.id,
      name: def.name,
      version: def.version,
      stepsTotal: 3,
      input: { key: "k" },
      status: "completed",
      ops: [
        { stepId: "put", skill: "kv_store", args: { op: "set", key: "k", value: 1 }, result: { op: "set" } },
        { stepId: "get", skill: "kv_store", args: { op: "get", key: "OTHER" }, result: { op: "get", found: false } },
        { stepId: "bump", skill: "kv_store", args: { op: "incr", key: "k" }, result: { op: "incr", value: 2 } },
      ],
    });
    const pending = await withConfig({ WORKFLOW_REPLAY_MAX_OPS: "2" }, () =>
      asKey(w, () => Workflows.replay(runId, { mode: "verify" })),
    );
    expect(pending.status).toBe("pending");
    expect(await deliver(await replayMessages(1))).toEqual([]);
    const done = await asKey(w, () => Workflows.getReplay(runId, pending.replay_id));
    expect(done).toMatchObject({
      status: "mismatch",
      ops_total: 3,
      ops_verified: 2,
      ops_failed: 1,
      first_mismatch_op_index: 1,
      severity: "CRITICAL",
      mismatch_diff: [{ op: "replace", path: "/ops/1/args/key", value: "OTHER" }],
    });
  });

  it("a message delivered twice gives one result", async () => {
    const { t, runId } = await finishedRun();
    const { body } = await replayQueued(t.keys.agent.key, runId);
    const [msg] = await replayMessages(1);
    expect(await deliver([msg])).toEqual([]);
    const first = await replayRow(body.replay_id);
    expect(first?.status).toBe("verified");
    // The redelivery (and one in the same batch twice) is acknowledged and changes nothing.
    expect(await deliver([msg, msg])).toEqual([]);
    expect(await replayRow(body.replay_id)).toEqual(first);
    const { rows } = await query("select count(*)::int as n from replay_runs where workflow_run_id = $1", [runId]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it("a running replay whose worker died is taken over; one under a live lease is retried", async () => {
    const { t, runId } = await finishedRun();
    const { body } = await replayQueued(t.keys.agent.key, runId);
    const [msg] = await replayMessages(1);
    // A worker took it and holds a live lease: the redelivery is retried, nothing is written.
    await query(
      "update replay_runs set status = 'running', lease_until = now() + interval '5 minutes' where replay_id = $1",
      [body.replay_id],
    );
    const failures = await deliver([msg]);
    expect(failures).toHaveLength(1);
    expect((await replayRow(body.replay_id))?.status).toBe("running");
    // Its worker died: the lease ended, the next delivery verifies it.
    await query("update replay_runs set lease_until = now() - interval '1 second' where replay_id = $1", [
      body.replay_id,
    ]);
    expect(await deliver([msg])).toEqual([]);
    expect(await replayRow(body.replay_id)).toMatchObject({ status: "verified", ops_total: 3 });
  });

  it("a lost message is sent again by the WorkflowSweep cron", async () => {
    const { t, runId } = await finishedRun();
    const { body } = await replayQueued(t.keys.agent.key, runId);
    expect(await replayMessages(1)).toHaveLength(1); // lost
    const { handler } = await import("../../functions/cron/workflow-sweep.ts");
    // Within the outbox's resend delay the sweeper sends nothing.
    await handler(scheduledEvent(), lambdaContext());
    expect(await replayMessages()).toEqual([]);
    await query("update replay_runs set enqueued_at = enqueued_at - interval '2 hours' where replay_id = $1", [
      body.replay_id,
    ]);
    await handler(scheduledEvent(), lambdaContext());
    const again = await replayMessages(1);
    expect(again).toEqual([{ v: 1, tenantId: t.tenant.id, replayId: body.replay_id }]);
    expect(await deliver(again)).toEqual([]);
    expect((await getReplay(t.keys.viewer.key, runId, body.replay_id)).body.status).toBe("verified");
  });

  it("another tenant's message or key reaches nothing of the replay", async () => {
    const { t, runId } = await finishedRun();
    const other = await tenant(0);
    const { body } = await replayQueued(t.keys.agent.key, runId);
    await replayMessages(1);
    // A message naming the other tenant: acknowledged, the replay untouched.
    expect(await deliver([{ v: 1, tenantId: other.tenant.id, replayId: body.replay_id }])).toEqual([]);
    expect((await replayRow(body.replay_id))?.status).toBe("pending");
    expect((await getReplay(other.keys.viewer.key, runId, body.replay_id)).status).toBe(404);
    expect((await replayQueued(other.keys.agent.key, runId)).status).toBe(404);
    expect(await replayMessages()).toEqual([]);
  });

  it("a message the schema refuses is permanent (recorded, not retried)", async () => {
    expect(await deliver([{ v: 1, tenantId: "not-a-uuid", replayId: "x" }])).toEqual([]);
  });
});

describe("skill_metrics units", () => {
  it("a run of known steps gives each skill's cost-model units: kv_store 1 per call, voyage_embed 1 per input", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, [
      { id: "put", skill: "kv_store", args: { op: "set", key: "a", value: 1 } },
      { id: "get", skill: "kv_store", args: { op: "get", key: "a" } },
      { id: "embed", skill: "voyage_embed", args: { input: ["one", "two", "three"] } },
      { id: "embed2", skill: "voyage_embed", args: { input: ["four"] } },
    ]);
    await withConfig({ VOYAGE_API_KEY: API_KEY, VOYAGE_BASE_URL: voyage.url }, async () => {
      await startRun(t.keys.agent.key, name);
      expect(await drainSteps()).toBe(1);
    });
    const { rows: ops } = await query<{ step_id: string; units: string }>(
      "select step_id, units from workflow_ops where tenant_id = $1 order by op_index",
      [t.tenant.id],
    );
    expect(ops.map((o) => [o.step_id, Number(o.units)])).toEqual([
      ["put", 1],
      ["get", 1],
      ["embed", 3],
      ["embed2", 1],
    ]);
    const { rows } = await query<{ skill_name: string; calls: number; units_total: string; units_per_call: string }>(
      "select skill_name, calls, units_total, units_per_call from skill_metrics where tenant_id = $1 order by skill_name",
      [t.tenant.id],
    );
    expect(rows.map((r) => [r.skill_name, r.calls, Number(r.units_total), Number(r.units_per_call)])).toEqual([
      ["kv_store", 2, 2, 1],
      ["voyage_embed", 2, 4, 2],
    ]);
  });
});
