/**
 * A failed workflow step and the failure catalog: each failure is recorded in failure_matches with
 * the run id, the op index and the skill, and whether the step runs again is the catalog's
 * decision (Failures.retryDecision), not the raw error's `retryable`. A real loopback Voyage server
 * fails on demand; one HTTP request per step attempt (SKILL_RETRY_MAX_ATTEMPTS=1), so the
 * requests it saw are the step's attempts.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { settleBackground } from "../../core/platform/background.ts";
import { query } from "../../core/platform/db/index.ts";
import { acquire, breakerKey, fail } from "../../core/skills/breaker.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import * as Skills from "../../core/skills/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { checkedKeyedTenants } from "../factories/jobs.ts";
import {
  assertRunCredits,
  drainSteps,
  registerWorkflow,
  runSteps,
  startRun,
  stepMessages,
} from "../factories/workflows.ts";
import { withConfig } from "../setup/config-override.ts";
import { startVoyageServer, type VoyageServer } from "../setup/voyage-server.ts";

const tenant = checkedKeyedTenants();
const API_KEY = "vk-step-failures";
let voyage: VoyageServer;

beforeAll(async () => {
  voyage = await startVoyageServer({ apiKey: API_KEY });
  await stepMessages();
});
afterAll(() => voyage.close());

const steps = [{ id: "embed", skill: "voyage_embed", args: { input: [{ $ref: "input.text" }] } }];

const withVoyage = <T>(fn: () => Promise<T>) =>
  withConfig(
    {
      VOYAGE_API_KEY: API_KEY,
      VOYAGE_BASE_URL: voyage.url,
      SKILL_RETRY_MAX_ATTEMPTS: "1",
      WORKFLOW_STEP_MAX_ATTEMPTS: "3",
    },
    fn,
  );

/** Start a one-step run, deliver its messages until the queue is empty; the run as stored. */
async function runOnce(key: string) {
  const name = `wf-${randomBytes(4).toString("hex")}`;
  await registerWorkflow(key, name, steps);
  const run = await startRun(key, name, { input: { text: "hello world" } });
  await withVoyage(() => drainSteps());
  const { rows } = await query<{ status: string; attempt: number; error: { code: string; op_index: number } | null }>(
    "select status, attempt, error from workflow_runs where id = $1",
    [run.id],
  );
  return { id: run.id as string, ...(rows[0] as NonNullable<(typeof rows)[0]>) };
}

/** The failure catalog's rows of a run. */
async function failuresOf(runId: string) {
  const { rows } = await query<{
    catalog_entry_id: string | null;
    skill_id: string;
    step_index: number;
    error_code: string;
  }>(
    `select catalog_entry_id, skill_id, step_index, error_code from failure_matches where run_id = $1 order by created_at`,
    [runId],
  );
  return rows;
}

describe("a failed step", () => {
  it("a 503 (upstream.unavailable: retryable) runs again as the catalog says; each failure is recorded with the run", async () => {
    const t = await tenant(50);
    voyage.reset();
    voyage.failNext(2, 503);
    const run = await runOnce(t.keys.agent.key);
    expect(run.status).toBe("completed");
    expect(voyage.requests).toHaveLength(3); // two 503s, then the answer
    const rows = await failuresOf(run.id);
    expect(rows).toHaveLength(2);
    for (const r of rows)
      expect(r).toMatchObject({
        catalog_entry_id: "upstream.unavailable",
        skill_id: "voyage_embed",
        step_index: 0,
        error_code: "skills.upstream_error",
      });
    await assertRunCredits(run.id);
  });

  it("a 503 that persists fails the run after the attempts the catalog allows", async () => {
    const t = await tenant(50);
    voyage.reset();
    voyage.failNext(10, 503);
    const run = await runOnce(t.keys.agent.key);
    expect(run).toMatchObject({ status: "failed", error: { code: "skills.upstream_error", op_index: 0 } });
    expect(voyage.requests).toHaveLength(3); // WORKFLOW_STEP_MAX_ATTEMPTS: the entry names no attempts of its own
    expect(await failuresOf(run.id)).toHaveLength(3);
    await assertRunCredits(run.id);
  });

  it("a 400 (a rejection the catalog does not retry) fails the run at once and is recorded", async () => {
    const t = await tenant(50);
    voyage.reset();
    voyage.failNext(1, 400);
    const run = await runOnce(t.keys.agent.key);
    expect(run).toMatchObject({ status: "failed", error: { code: "skills.upstream_rejected", op_index: 0 } });
    expect(voyage.requests).toHaveLength(1);
    const rows = await failuresOf(run.id);
    expect(rows).toEqual([
      {
        catalog_entry_id: "voyage.bad_request",
        skill_id: "voyage_embed",
        step_index: 0,
        error_code: "skills.upstream_rejected",
      },
    ]);
    await assertRunCredits(run.id);
  });

  it("args the skill refuses at run time (never reaching Skills.execute's call) are recorded by the step", async () => {
    const t = await tenant(50);
    const name = `wf-${randomBytes(4).toString("hex")}`;
    await registerWorkflow(t.keys.agent.key, name, [
      { id: "embed", skill: "voyage_embed", args: { input: { $ref: "input.texts" } } },
    ]);
    const run = await startRun(t.keys.agent.key, name, { input: { texts: "not a list" } });
    voyage.reset();
    await withVoyage(() => drainSteps());
    expect(voyage.requests).toHaveLength(0);
    const rows = await failuresOf(run.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ skill_id: "voyage_embed", step_index: 0 });
  });
});

/** As the tenant's workflow worker (the context a step runs in). */
const asWorker = <T>(tenantId: string, fn: () => Promise<T>) =>
  withContext(
    { requestId: "test", correlationId: "test", actor: { type: "system", name: "workflow-steps", tenantId } },
    fn,
  );

/** A one-step run of `steps` started and its first message delivered once (the failure's attempt). */
async function deliverOnce(key: string, defSteps: unknown[], before?: (runId: string) => Promise<void>) {
  const name = `wf-${randomBytes(4).toString("hex")}`;
  await registerWorkflow(key, name, defSteps);
  const run = await startRun(key, name, { input: { text: "hello world" } });
  // Only this run's message: an earlier test's retry (sent with the catalog's delay) may come first.
  let msg: unknown;
  for (let i = 0; i < 5 && !msg; i++) msg = (await stepMessages(1)).find((m) => m.runId === run.id);
  expect(msg, "the run's first step message").toBeDefined();
  await before?.(run.id);
  await withVoyage(() => runSteps([msg]));
  return run.id as string;
}

describe("each failure of a step is recorded once (Failures.wasRecorded, not a list of codes)", () => {
  it("a breaker's refusal (before the call): one record, by the step", async () => {
    const t = await tenant(50);
    const host = `open-${randomBytes(3).toString("hex")}.example`;
    const key = breakerKey("tenant", `webhook:${host}`, t.tenant.id);
    await asWorker(t.tenant.id, async () => {
      for (let i = 0; i < config().skills.breaker.failureThreshold; i++)
        await fail(await acquire(key), new UpstreamError(key.target, "503", { retryable: true, status: 503 }));
    });
    const runId = await deliverOnce(t.keys.agent.key, [
      { id: "hook", skill: "webhook_send", args: { url: `http://${host}/hook`, payload: { a: 1 } } },
    ]);
    expect(await failuresOf(runId)).toEqual([
      { catalog_entry_id: "breaker.open", skill_id: "webhook_send", step_index: 0, error_code: "skills.circuit_open" },
    ]);
  });

  it("an idempotency conflict (the op's key used with other args): one record, by the step", async () => {
    const t = await tenant(50);
    const runId = await deliverOnce(
      t.keys.agent.key,
      [{ id: "set", skill: "kv_store", args: { op: "set", key: "k", value: 1 } }],
      (id) =>
        asWorker(t.tenant.id, async () => {
          await Skills.execute(
            "kv_store",
            { op: "set", key: "k", value: 2 },
            { idempotencyKey: Workflows.opKey(id, 0), runId: id, opIndex: 0, charge: false },
          );
        }),
    );
    const rows = await failuresOf(runId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ skill_id: "kv_store", step_index: 0, error_code: "skills.idempotency_conflict" });
  });

  it("a failing call replayed to the delivery after a worker died: one record (Skills.execute's), not two", async () => {
    const t = await tenant(50);
    voyage.reset();
    voyage.failNext(1, 400);
    const runId = await deliverOnce(t.keys.agent.key, steps, (id) =>
      withVoyage(() =>
        asWorker(t.tenant.id, async () => {
          // The dead worker's call: it failed (recorded by Skills.execute), the op was never written.
          await expect(
            Skills.execute(
              "voyage_embed",
              { input: ["hello world"] },
              {
                idempotencyKey: Workflows.opKey(id, 0),
                runId: id,
                opIndex: 0,
                charge: false,
                argsField: "steps.embed.args",
              },
            ),
          ).rejects.toMatchObject({ code: "skills.upstream_rejected" });
          await settleBackground();
        }),
      ),
    );
    expect(voyage.requests).toHaveLength(1); // the redelivery replayed the stored failure
    expect(await failuresOf(runId)).toEqual([
      {
        catalog_entry_id: "voyage.bad_request",
        skill_id: "voyage_embed",
        step_index: 0,
        error_code: "skills.upstream_rejected",
      },
    ]);
    const { rows } = await query<{ status: string }>("select status from workflow_runs where id = $1", [runId]);
    expect(rows[0]?.status).toBe("failed");
    await assertRunCredits(runId);
  });

  it("a failing call: one record (Skills.execute's), the step adds none", async () => {
    const t = await tenant(50);
    voyage.reset();
    voyage.failNext(1, 400);
    const runId = await deliverOnce(t.keys.agent.key, steps);
    expect(voyage.requests).toHaveLength(1);
    expect(await failuresOf(runId)).toHaveLength(1);
  });
});
