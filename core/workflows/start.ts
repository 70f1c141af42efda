/**
 * A run's start, and a fork's: the run row, the credits of its steps reserved (the skills' cost
 * models), a status_history row and, for a fork, the recorded ops before the fork point copied
 * into the new run's log, all in one transaction; its first step's message after commit.
 */

import { actorName, useActor, useTenant } from "../context.ts";
import * as Costsim from "../costsim/index.ts";
import * as Credits from "../credits/index.ts";
import { ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import { hashJson, opsOf, recordOp } from "./audit.ts";
import { definition } from "./definitions.ts";
import { RunKeyReusedError, RunNotFoundError } from "./errors.ts";
import { getRun } from "./query.ts";
import type { OpRecord, RunEstimate, RunFork, RunRecord, RunStart, WorkflowStep } from "./schema.ts";
import { RunStates } from "./states.ts";
import { stepOutbox } from "./step-outbox.ts";
import * as sql from "./workflows.sql.ts";

/**
 * CostSim V1's estimate of a run of `steps` with `input` from step `from` on (a fork's fork point;
 * 0 otherwise): its credits are what the run reserves (the skills' cost models, a step whose args
 * need an earlier result or do not parse at its skill's base). An op's charge is its real cost;
 * when that is more than what is left of the reserve, the step reserves the difference first
 * (step.ts).
 */
export function estimateRun(
  name: string,
  steps: readonly WorkflowStep[],
  input: Record<string, unknown>,
  from = 0,
): RunEstimate {
  const planInput = { workflow: { name, steps: steps.map((s) => ({ ...s })) }, input };
  // The options a simulate reads a plan with, so the same workflow and input hash the same there.
  const plan = Costsim.planOf(planInput, Costsim.planOptions());
  const v1 = Costsim.simulateV1(plan);
  const rest = v1.steps.slice(from);
  const ok = rest.reduce((p, e) => p * (1 - e.p_failure), 1);
  const sum = (f: (e: (typeof rest)[number]) => number) => rest.reduce((t, e) => t + f(e), 0);
  return {
    version: v1.version,
    from_op_index: from,
    credits: sum((e) => units(e.credits)) / 10_000,
    duration_ms: sum((e) => e.duration_ms),
    duration_p95_ms: sum((e) => e.duration_p95_ms),
    p_failure: Math.round((1 - ok) * 10_000) / 10_000,
    expected_retries: Math.round(sum((e) => e.expected_retries) * 10_000) / 10_000,
    plan_hash: Costsim.hashOf(plan),
  };
}

/** Ten-thousandths of a credit (numeric(18,4)), so sums are exact integers. */
const units = (n: number) => Math.round(n * 10_000);

interface NewRun {
  definition: { id: string; name: string; version: number; steps: WorkflowStep[] };
  input: Record<string, unknown>;
  idempotencyKey: string | null;
  fork?: { from: string; opIndex: number; ops: OpRecord[] };
}

/** Insert, reserve, record, enqueue; the existing run for a repeated key (`replayed`). */
async function createRun(n: NewRun): Promise<{ run: RunRecord; replayed: boolean }> {
  const tenantId = useTenant();
  const steps = n.definition.steps;
  const from = n.fork?.opIndex ?? 0;
  const estimate = estimateRun(n.definition.name, steps, n.input, from);
  const reserve = estimate.credits;
  return withTx(async () => {
    const now = clock().now();
    const { rows } = await query<sql.RunRow>(sql.insertRun, [
      tenantId,
      n.definition.id,
      n.definition.name,
      n.definition.version,
      JSON.stringify(n.input),
      n.idempotencyKey,
      n.fork?.from ?? null,
      n.fork ? from : null,
      steps.length,
      from,
      actorName(useActor()),
      now,
      JSON.stringify(estimate),
    ]);
    const inserted = rows[0];
    if (!inserted) {
      const key = n.idempotencyKey as string;
      const { rows: prior } = await query<sql.RunRow & { definition_id: string }>(sql.runByKey, [tenantId, key]);
      const p = prior[0];
      if (!p) throw new RunKeyReusedError(key, "(unknown)");
      if (
        p.definition_id !== n.definition.id ||
        hashJson(p.input) !== hashJson(n.input) ||
        p.forked_from !== (n.fork?.from ?? null)
      )
        throw new RunKeyReusedError(key, p.id);
      return { run: await getRun(p.id), replayed: true };
    }
    // A fork's log starts with the original's ops before the fork point, re-chained under the new
    // run (their results are what the later steps' args are derived from; nothing runs again).
    let head: string | null = null;
    for (const o of n.fork?.ops ?? []) {
      const op = await recordOp(
        {
          runId: inserted.id,
          tenantId,
          opIndex: o.op_index,
          stepId: o.step_id,
          skill: o.op_type,
          skillVersion: o.skill_version,
          args: o.args,
          status: "succeeded",
          result: o.result,
          durationMs: o.duration_ms,
          transient: o.transient,
          idempotencyKey: o.idempotency_key,
          credits: 0,
          startedAt: new Date(o.created_at),
          completedAt: new Date(o.completed_at ?? o.created_at),
        },
        head,
      );
      head = op.hash;
    }
    await Credits.reserveNow(tenantId, reserve, `reserve:wf:${inserted.id}`, `workflow ${n.definition.name}`);
    await query(sql.moveRun, [inserted.id, tenantId, RunStates.running, from, 0, 0, head, null, now, reserve]);
    await StatusHistory.record({
      entity_type: "workflow_run",
      entity_id: inserted.id,
      old_status: null,
      new_status: RunStates.running,
      metadata: {
        workflow: n.definition.name,
        version: n.definition.version,
        ...(n.fork ? { forked_from: n.fork.from, fork_op_index: from } : {}),
      },
    });
    enqueueAfterCommit(stepOutbox, [{ id: inserted.id, tenant_id: tenantId, next_op_index: from }]);
    return { run: await getRun(inserted.id), replayed: false };
  });
}

/**
 * Start a run of workflow `name` (its latest version, or `body.version`) for the context's tenant.
 * 402 `credits.insufficient` when the tenant cannot cover the steps' estimate (nothing written).
 *
 * @example
 *   const { run } = await Workflows.start("greet", { input: { key: "k" } });
 */
export async function start(name: string, body: RunStart): Promise<{ run: RunRecord; replayed: boolean }> {
  const def = await definition(useTenant(), name, body.version);
  return createRun({ definition: def, input: body.input, idempotencyKey: body.idempotency_key ?? null });
}

/**
 * A new run of the same definition that reuses the recorded results of ops before
 * `from_op_index` and runs from it (`forked_from`, `fork_op_index`), with the original input or
 * `body.input`. 400 when the original has no succeeded op at every index before it.
 */
export async function fork(runId: string, body: RunFork): Promise<RunRecord> {
  const tenantId = useTenant();
  const { rows } = await query<sql.RunRow>(sql.getRun, [runId, tenantId]);
  const original = rows[0];
  if (!original) throw new RunNotFoundError(runId);
  const k = body.from_op_index;
  const ops = (await opsOf(runId, tenantId)).filter((o) => o.op_index < k);
  const bad = (message: string) =>
    new ValidationError(message, [{ field: "body.from_op_index", message }], "workflows.invalid_fork");
  if (k >= original.steps_total)
    throw bad(`the workflow has ${original.steps_total} steps (0 to ${original.steps_total - 1})`);
  if (ops.length !== k || ops.some((o, i) => o.op_index !== i || o.status !== "succeeded"))
    throw bad(`run ${runId} has no succeeded op at every index before ${k}`);
  const def = await definition(tenantId, original.workflow, original.version);
  const { run } = await createRun({
    definition: def,
    input: body.input ?? original.input,
    idempotencyKey: null,
    fork: { from: runId, opIndex: k, ops },
  });
  return run;
}
