/**
 * Invoke through the real handlers: completed, failed, timed out and answered late, each with
 * its audit row (invoke_audit), its credits (held, then charged or released: the ledger's
 * invariants hold) and its trace; who may answer; listing by job and by caller.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { invoke } from "../events/index.ts";
import { actingAs, registerAgent } from "../factories/agents.ts";
import { assertCreditInvariants, grantCredits, insertBareJob } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let caller: string;
let target: string;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 100);
  caller = await registerAgent(t.keys.agent.key, "orchestrator");
  target = await registerAgent(t.keys.agent.key, "worker");
});
afterEach(async () => {
  await assertCreditInvariants(t.tenant.id);
});

const key = () => t.keys.agent.key;
const start = (body: Record<string, unknown>) =>
  invoke("POST", `/api/v1/agents/${target}/invoke`, { key: key(), body, headers: actingAs(caller) });
const respond = (invokeId: string, body: Record<string, unknown>, headers = actingAs(target)) =>
  invoke("POST", `/api/v1/invokes/${invokeId}/respond`, { key: key(), body, headers });

const cancel = (invokeId: string, headers: Record<string, string> = actingAs(caller)) =>
  invoke("POST", `/api/v1/invokes/${invokeId}/cancel`, { key: key(), headers });

/** The failure catalog's rows of one run (an invoke id). */
const failuresOf = async (runId: string) =>
  (
    await query<{ error_code: string; catalog_entry_id: string | null; tenant_id: string }>(
      "select error_code, catalog_entry_id, tenant_id from failure_matches where run_id = $1",
      [runId],
    )
  ).rows;

/** The target's side: wait for the next request, answer it with `answer(input)`. */
async function serveOne(answer: (input: any) => Record<string, unknown>, delayMs = 0) {
  const got = await invoke("GET", `/api/v1/agents/${target}/messages`, { key: key(), query: { wait_s: "10" } });
  const request = got.body.data.find((m: { type: string }) => m.type === "invoke.request");
  expect(request, "the target receives an invoke.request").toBeDefined();
  if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  return respond(request.payload.invoke_id, answer(request.payload.input));
}

async function balance() {
  const { rows } = await query<{ balance: number; reserved: number }>(
    "select CAST(balance AS float8) as balance, CAST(reserved AS float8) as reserved from credit_balances where tenant_id = $1",
    [t.tenant.id],
  );
  return rows[0];
}

describe("POST /api/v1/agents/{id}/invoke", () => {
  it("an unknown target: 404 from the request's insert, nothing held and no audit row left", async () => {
    const before = await balance();
    const unknown = crypto.randomUUID();
    const res = await invoke("POST", `/api/v1/agents/${unknown}/invoke`, {
      key: key(),
      body: { input: 1, timeout_s: 5, credits: 2 },
      headers: actingAs(caller),
    });
    expect([res.status, res.body.error?.code]).toEqual([404, "agents.not_found"]);
    const { rows } = await query("select 1 from invoke_audit where target_instance_id = $1", [unknown]);
    expect(rows).toEqual([]);
    expect(await balance()).toEqual(before);
  });

  it("completed: 200 with the output, credits charged, audit row and trace", async () => {
    const before = await balance();
    const [res, answered] = await Promise.all([
      start({ input: { q: "2+2" }, timeout_s: 10, credits: 3 }),
      serveOne((input) => ({ output: { a: input.q === "2+2" ? 4 : 0 } })),
    ]);
    expect(answered.status).toBe(200);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: "completed",
      caller_instance_id: caller,
      target_instance_id: target,
      request_payload: { input: { q: "2+2" } },
      response_payload: { output: { a: 4 } },
      credits_reserved: 3,
      credits_charged: 3,
      timeout_s: 10,
    });
    expect(res.body.duration_ms).toBeGreaterThanOrEqual(0);
    expect(await balance()).toEqual({ balance: (before?.balance ?? 0) - 3, reserved: before?.reserved });
    const trace = await invoke("GET", `/api/v1/invokes/${res.body.invoke_id}`, { key: t.keys.viewer.key });
    expect(trace.status).toBe(200);
    expect(trace.body.messages).toHaveLength(1);
    expect(trace.body.messages[0]).toMatchObject({ type: "invoke.request", to: target, from: caller });
    expect(trace.body.messages[0].acked_at).not.toBeNull();
    expect(trace.body.messages[0].payload.deadline_at).toBe(trace.body.deadline_at.replace(/(\.\d{3})\d{3}Z$/, "$1Z"));
    expect(trace.body.timings.to_receive_ms).toBeGreaterThanOrEqual(0);
    expect(trace.body.timings.to_answer_ms).toBe(res.body.duration_ms);
  });

  it("without credits (one statement each side): handed to a waiting receive it is working from the start; answered, acked, late past its deadline; answered once", async () => {
    // The target waits first, so the request is handed to its receive (migration 0023).
    const receiving = invoke("GET", `/api/v1/agents/${target}/messages`, { key: key(), query: { wait_s: "10" } });
    for (let i = 0; i < 500; i++) {
      const { rows } = await query("select waiter from agent_inboxes where agent_id = $1", [target]);
      if (rows[0]?.waiter) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const started = start({ input: { n: 1 }, timeout_s: 10 });
    const got = await receiving;
    const request = got.body.data.find((m: { type: string }) => m.type === "invoke.request");
    const invokeId = request.payload.invoke_id;
    const { rows: open } = await query<{ status: string; received_at: Date | null; started_at: Date }>(
      "select status, received_at, started_at from invoke_audit where invoke_id = $1",
      [invokeId],
    );
    expect(open[0]?.status).toBe("working");
    expect(open[0]?.received_at?.getTime()).toBe(open[0]?.started_at.getTime());
    expect((await respond(invokeId, { output: 2 })).body).toMatchObject({ status: "completed", credits_charged: null });
    const res = await started;
    expect(res.body).toMatchObject({ status: "completed", response_payload: { output: 2 }, credits_reserved: null });
    const { rows: acked } = await query("select acked_at from agent_messages where invoke_id = $1", [invokeId]);
    expect(acked[0]?.acked_at).not.toBeNull();
    expect((await respond(invokeId, { output: 3 })).status).toBe(409);

    // Answered past its deadline before anything marked it timed out: late, not completed.
    const second = start({ input: { n: 2 }, timeout_s: 10 });
    const next = await invoke("GET", `/api/v1/agents/${target}/messages`, { key: key(), query: { wait_s: "10" } });
    const lateId = next.body.data.find((m: { type: string }) => m.type === "invoke.request").payload.invoke_id;
    await query("update invoke_audit set deadline_at = now() - interval '1 second' where invoke_id = $1", [lateId]);
    expect((await respond(lateId, { output: "tardy" })).body).toMatchObject({ status: "late", credits_charged: null });
    expect((await second).body.status).toBe("late");
  });

  it("failed: 200 with the target's error, credits released", async () => {
    const before = await balance();
    const [res] = await Promise.all([
      start({ input: 1, timeout_s: 10, credits: 5 }),
      serveOne(() => ({ error: "cannot do that" })),
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "failed", error_message: "cannot do that", credits_charged: 0 });
    expect(await balance()).toEqual(before);
    // Recorded in the failure catalog under the invoke's id, in the tenant.
    expect(await failuresOf(res.body.invoke_id)).toEqual([
      { error_code: "agents.invoke_failed", catalog_entry_id: "agents.invoke_failed", tenant_id: t.tenant.id },
    ]);
  });

  it("timeout: 504 at the deadline, credits released; a later answer is recorded as late", async () => {
    const before = await balance();
    const started = Date.now();
    const res = await start({ input: "slow", timeout_s: 1, credits: 2 });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.body.error.code).toBe("agents.invoke_timeout");
    const invokeId = res.body.error.details.invoke_id;
    const audit = await invoke("GET", `/api/v1/invokes/${invokeId}`, { key: key() });
    expect(audit.body).toMatchObject({ status: "timeout", credits_charged: null });
    expect(await failuresOf(invokeId)).toEqual([
      { error_code: "agents.invoke_timeout", catalog_entry_id: "agents.invoke_timeout", tenant_id: t.tenant.id },
    ]);
    expect(await balance()).toEqual(before);
    const late = await respond(invokeId, { output: "finally" });
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ status: "late", response_payload: { output: "finally" }, credits_charged: 0 });
    expect(await balance()).toEqual(before);
    const again = await respond(invokeId, { output: "twice" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("agents.invoke_answered");
  });

  it("only the target may answer; a bad body is a 400; an unknown invoke a 404; 402 without credits", async () => {
    const res = start({ input: null, timeout_s: 2 });
    const got = await invoke("GET", `/api/v1/agents/${target}/messages`, { key: key(), query: { wait_s: "5" } });
    const invokeId = got.body.data[0].payload.invoke_id;
    const wrong = await respond(invokeId, { output: 1 }, actingAs(caller));
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe("agents.not_target");
    const both = await respond(invokeId, { output: 1, error: "x" });
    expect(both.status).toBe(400);
    expect((await respond(invokeId, { output: 1 })).status).toBe(200);
    expect((await res).body.status).toBe("completed");
    expect((await respond("00000000-0000-4000-8000-000000000000", { output: 1 })).status).toBe(404);
    const refusals = (op: string) => metricValue(`aos_credit_refusals_total{operation="${op}"}`);
    const [invokeRefusals, skillRefusals] = [await refusals("agent_invoke"), await refusals("skill_execute")];
    const poor = await start({ input: 1, timeout_s: 1, credits: 1_000_000 });
    expect(poor.status).toBe(402);
    // Counted as the invoke's refusal, not a skill execution's.
    expect(await refusals("agent_invoke")).toBe(invokeRefusals + 1);
    expect(await refusals("skill_execute")).toBe(skillRefusals);
    const bad = await start({ input: 1, timeout_s: 31 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["body.timeout_s"]);
  });

  it("lists invokes by caller and by job, newest first", async () => {
    const { jobId } = await insertBareJob(t.tenant.id);
    const [res] = await Promise.all([
      start({ input: 1, timeout_s: 5, job_id: jobId }),
      serveOne(() => ({ output: 2 })),
    ]);
    const byJob = await invoke("GET", "/api/v1/invokes", { key: t.keys.viewer.key, query: { job_id: jobId } });
    expect(byJob.body.data.map((i: { invoke_id: string }) => i.invoke_id)).toEqual([res.body.invoke_id]);
    const byCaller = await invoke("GET", "/api/v1/invokes", { key: t.keys.viewer.key, query: { caller, limit: "2" } });
    expect(byCaller.body.data[0].invoke_id).toBe(res.body.invoke_id);
    expect(byCaller.body.data).toHaveLength(2);
    expect(byCaller.body.next_cursor).not.toBeNull();
    const next = await invoke("GET", "/api/v1/invokes", {
      key: t.keys.viewer.key,
      query: { caller, limit: "2", cursor: byCaller.body.next_cursor },
    });
    expect(next.status).toBe(200);
    expect(next.body.data[0].invoke_id).not.toBe(byCaller.body.data[1].invoke_id);
  });
});

describe("POST /api/v1/invokes/{invoke_id}/cancel", () => {
  it("the caller cancels: its waiting invoke answers canceled, credits released; a later answer is kept, once", async () => {
    const before = await balance();
    const [canceledBefore, lateBefore] = [
      await metricValue("aos_agent_invokes_canceled_total"),
      await metricValue('aos_agent_invoke_late_total{after="cancel"}'),
    ];
    const waiting = start({ input: "long job", timeout_s: 20, credits: 4 });
    const got = await invoke("GET", `/api/v1/agents/${target}/messages`, { key: key(), query: { wait_s: "10" } });
    const invokeId = got.body.data[0].payload.invoke_id as string;
    expect((await balance())?.reserved).toBe((before?.reserved ?? 0) + 4);

    const notCaller = await cancel(invokeId, actingAs(target));
    expect(notCaller.status).toBe(403);
    expect(notCaller.body.error.code).toBe("agents.not_caller");

    const started = Date.now();
    const canceled = await cancel(invokeId);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({
      invoke_id: invokeId,
      status: "canceled",
      credits_charged: 0,
      answered_at: null,
    });
    const answered = await waiting;
    expect(Date.now() - started, "the waiting caller is woken, not left to its deadline").toBeLessThan(5000);
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ invoke_id: invokeId, status: "canceled" });
    expect(await balance()).toEqual(before);
    expect(await metricValue("aos_agent_invokes_canceled_total")).toBe(canceledBefore + 1);
    // The request is acked: the target is not handed it again.
    const trace = await invoke("GET", `/api/v1/invokes/${invokeId}`, { key: key() });
    expect(trace.body.messages[0].acked_at).not.toBeNull();

    expect((await cancel(invokeId)).body).toEqual(canceled.body);

    const late = await respond(invokeId, { output: "done anyway" });
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({
      status: "canceled",
      response_payload: { output: "done anyway" },
      credits_charged: 0,
    });
    expect(late.body.answered_at).not.toBeNull();
    expect(await metricValue('aos_agent_invoke_late_total{after="cancel"}')).toBe(lateBefore + 1);
    expect(await balance()).toEqual(before);
    const twice = await respond(invokeId, { output: "again" });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe("agents.invoke_answered");
    expect(await failuresOf(invokeId)).toEqual([]);
  });

  it("an answered invoke cannot be canceled (409); a timed-out one can; unknown is a 404; a key acting as itself cancels its own", async () => {
    const [done] = await Promise.all([start({ input: 1, timeout_s: 10 }), serveOne(() => ({ output: 1 }))]);
    const refused = await cancel(done.body.invoke_id);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "agents.invoke_answered", details: { status: "completed" } });

    const timedOut = await start({ input: 2, timeout_s: 1 });
    expect(timedOut.status).toBe(504);
    const id = timedOut.body.error.details.invoke_id;
    const c = await cancel(id);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: "canceled", duration_ms: expect.any(Number) });
    expect((await cancel("00000000-0000-4000-8000-000000000000")).status).toBe(404);

    // Invoked by the key as itself (no header): the same key without the header cancels; an instance may not.
    const asKey = invoke("POST", `/api/v1/agents/${target}/invoke`, { key: key(), body: { input: 3, timeout_s: 10 } });
    const got = await invoke("GET", `/api/v1/agents/${target}/messages`, { key: key(), query: { wait_s: "10" } });
    const keyInvoke = got.body.data.find((m: { type: string }) => m.type === "invoke.request").payload.invoke_id;
    expect((await cancel(keyInvoke)).status).toBe(403);
    expect((await cancel(keyInvoke, {})).status).toBe(200);
    expect((await asKey).body.status).toBe("canceled");
  });
});
