/**
 * Workflows for tests: register a definition and start runs over HTTP, drive the WorkflowSteps
 * queue through its real handler until it is empty, and check a run's credits in the ledger.
 */
import { expect } from "vitest";
import { configOverrides, replaceConfigOverrides, setConfig } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { query, withTx } from "../../core/platform/db/index.ts";
import type { StepMessage } from "../../core/workflows/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import * as wsql from "../../core/workflows/workflows.sql.ts";
import { handler as stepsHandler } from "../../functions/queue/workflow-steps.ts";
import { invoke, lambdaContext, sqsEvent } from "../events/index.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

/** Register `steps` as workflow `name` with key `key`; the definition. */
export async function registerWorkflow(key: string, name: string, steps: unknown[]) {
  const res = await invoke("POST", "/api/v1/workflows", { key, body: { name, steps } });
  expect([200, 201], res.text).toContain(res.status);
  return res.body;
}

/** Start a run of `name`; the run (202). */
export async function startRun(key: string, name: string, body: Record<string, unknown> = {}) {
  const res = await invoke("POST", `/api/v1/workflows/${name}/runs`, { key, body });
  expect(res.status, res.text).toBe(202);
  return res.body;
}

/** What the WorkflowSteps queue holds now (read and deleted). */
export const stepMessages = (want = 0) => takeMessages<StepMessage>("WorkflowSteps", want);

/** The WorkflowSteps handler over `messages`; the ids of records to retry. */
export async function runSteps(messages: readonly unknown[]): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < messages.length; i += 10) {
    const r = await stepsHandler(sqsEvent(messages.slice(i, i + 10) as unknown[]), lambdaContext());
    failures.push(...r.batchItemFailures.map((f) => f.itemIdentifier));
  }
  return failures;
}

/** Deliver every step message until the queue is empty (at most `rounds` rounds); how many were delivered. */
export async function drainSteps(rounds = 20): Promise<number> {
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    const msgs = await stepMessages();
    if (msgs.length === 0) return n;
    n += msgs.length;
    await runSteps(msgs);
  }
  return n;
}

/** A run's ledger rows by kind (reserve, charge, release), from their `wf:<run>` keys. */
export async function runLedger(runId: string): Promise<Record<string, { n: number; amount: number }>> {
  const { rows } = await query<{ kind: string; n: number; amount: number }>(
    `select kind, count(*)::int as n, sum(amount)::float8 as amount from credit_ledger
     where idempotency_key = 'reserve:wf:' || $1 or idempotency_key like 'reserve:wf:' || $1 || ':%'
        or idempotency_key like 'charge:wf:' || $1 || ':%' or idempotency_key = 'release:wf:' || $1
     group by kind`,
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.kind, { n: r.n, amount: r.amount }]));
}

/** A finished run's credits: reserve = charge + release, and the charges are the ops' credits. */
export async function assertRunCredits(runId: string): Promise<void> {
  const l = await runLedger(runId);
  const reserve = l.reserve?.amount ?? 0;
  const charged = l.charge?.amount ?? 0;
  const released = l.release?.amount ?? 0;
  expect(Math.round((charged + released) * 1e4), `run ${runId}: reserve = charge + release`).toBe(
    Math.round(reserve * 1e4),
  );
  const { rows } = await query<{ credits: number; charged: number; reserved: number }>(
    `select coalesce((select sum(credits) from workflow_ops where workflow_run_id = r.id), 0)::float8 as credits,
       r.credits_charged::float8 as charged, r.credits_reserved::float8 as reserved
     from workflow_runs r where r.id = $1`,
    [runId],
  );
  expect(rows[0]?.credits, "the ops' credits are what was charged").toBeCloseTo(charged, 4);
  expect(rows[0]?.charged, "the run's charged figure is the ledger's").toBeCloseTo(charged, 4);
  expect(rows[0]?.reserved, "the run's reserved figure is the ledger's").toBeCloseTo(reserve, 4);
}

/** One op as a test records it (through the audit log's own recording function). */
export interface TestOp {
  index?: number;
  stepId: string;
  skill: string;
  version?: string | null;
  args: unknown;
  status?: "succeeded" | "failed";
  result?: unknown;
  errorCode?: string;
  transient?: boolean;
  /** Default 0. */
  credits?: number;
  /** Default the runner's `wf:<run>:<op>`. */
  idempotencyKey?: string | null;
}

/**
 * A run of definition `definitionId` (workflow `name` version `version`) whose ops are `ops`,
 * recorded with Workflows.recordOp (hashes and chain as the runner writes them) and moved to
 * `status` in one transaction, without running anything: how the verifier's corpus and the 1,000
 * unchanged runs are built fast. The run's id.
 */
export async function recordRun(o: {
  tenantId: string;
  definitionId: string;
  name: string;
  version: number;
  stepsTotal: number;
  input: Record<string, unknown>;
  ops: TestOp[];
  status: "completed" | "failed" | "running" | "cancelled";
  errorAt?: number;
}): Promise<string> {
  return withContext(
    { requestId: "factory", correlationId: "factory", actor: { type: "system", name: "test", tenantId: o.tenantId } },
    () =>
      withTx(async () => {
        const now = new Date();
        const { rows } = await query<{ id: string }>(wsql.insertRun, [
          o.tenantId,
          o.definitionId,
          o.name,
          o.version,
          JSON.stringify(o.input),
          null,
          null,
          null,
          o.stepsTotal,
          0,
          "system:test",
          now,
          null,
        ]);
        const runId = (rows[0] as { id: string }).id;
        let head: string | null = null;
        for (const [i, op] of o.ops.entries()) {
          const rec = await Workflows.recordOp(
            {
              runId,
              tenantId: o.tenantId,
              opIndex: op.index ?? i,
              stepId: op.stepId,
              skill: op.skill,
              skillVersion: op.version === undefined ? "1.0.0" : op.version,
              args: op.args,
              status: op.status ?? "succeeded",
              result: op.result,
              errorCode: op.errorCode ?? null,
              errorMessage: op.errorCode ? "failed" : null,
              durationMs: 1,
              transient: op.transient ?? false,
              idempotencyKey:
                op.idempotencyKey === undefined ? Workflows.opKey(runId, op.index ?? i) : op.idempotencyKey,
              credits: op.credits ?? 0,
              startedAt: now,
              completedAt: now,
            },
            head,
          );
          head = rec.hash;
        }
        const next = o.status === "completed" ? o.stepsTotal : o.ops.length;
        const error = o.errorAt === undefined ? null : JSON.stringify({ code: "x.failed", op_index: o.errorAt });
        await query(wsql.moveRun, [runId, o.tenantId, o.status, next, 0, 0, head, error, now, 0]);
        return runId;
      }),
  );
}

/**
 * A test body run with WORKFLOW_STEP_CHAIN_S=0: each delivery runs one op and sends the next
 * op's message, for tests that act between two ops (a repeated delivery, a cancel, a stamp).
 * The file's configuration is put back after it.
 */
export function oneOpPerMessage(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    const before = configOverrides();
    setConfig({ WORKFLOW_STEP_CHAIN_S: "0" });
    try {
      await body();
    } finally {
      replaceConfigOverrides(before);
    }
  };
}
