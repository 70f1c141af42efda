/**
 * The base execution path end to end, through the execute route against real loopback servers:
 * idempotency under 20 concurrent calls (one side effect), the shared breaker opening, refusing,
 * letting exactly one probe through under 20 concurrent calls and closing, seeded backoff
 * identical across two runs, and the m11_* metrics recorded without any skill's own code.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import * as Skills from "../../core/skills/index.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { closedAfterEach, startSlackServer, startWebhookReceiver } from "../setup/external-servers.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const MASTER = "m".repeat(40);
let t: Tenant;
const track = closedAfterEach();
beforeAll(async () => {
  t = await makeTenantWithKeys();
  // Direct executions are charged: enough credits that no test here meets a 402.
  await grantCredits(t.tenant.id, 1_000_000);
});

const exec = (skill: string, body: unknown, key = t.keys.agent.key) =>
  invoke("POST", `/api/v1/skills/${skill}/execute`, { key, body });
const count = <T>(xs: T[], f: (x: T) => boolean) => xs.filter(f).length;

describe("idempotency through the execute route", () => {
  it("20 concurrent calls with one key: one delivery, 19 in progress; then replayed; other args conflict", async () => {
    await withConfig({ WEBHOOK_SIGNING_SECRET: MASTER, SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" }, async () => {
      const secret = (await invoke("GET", "/api/v1/webhooks/signing_secret", { key: t.keys.operator.key })).body.secret;
      const receiver = track(await startWebhookReceiver({ secret }));
      receiver.always({ delayMs: 400 });
      const key = `order-${randomUUID()}`;
      const body = { args: { url: receiver.url, payload: { order: 42 } }, idempotency_key: key };

      const replies = await Promise.all(Array.from({ length: 20 }, () => exec("webhook_send", body)));
      expect(count(replies, (r) => r.status === 200)).toBe(1);
      const busy = replies.filter((r) => r.status === 409);
      expect(busy).toHaveLength(19);
      for (const r of busy) {
        expect(r.body.error.code).toBe("skills.in_progress");
        expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      }
      expect(receiver.deliveries).toHaveLength(1);
      const first = replies.find((r) => r.status === 200)!.body;
      expect(first.replayed).toBe(false);
      expect(receiver.deliveries[0]!.headers["x-aos-idempotency-key"]).toBe(key);

      receiver.always(undefined);
      const again = await exec("webhook_send", body);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ replayed: true, execution_id: first.execution_id, result: first.result });
      expect(receiver.deliveries).toHaveLength(1);

      const other = await exec("webhook_send", { ...body, args: { ...body.args, payload: { order: 43 } } });
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe("skills.idempotency_conflict");
      expect(receiver.deliveries).toHaveLength(1);
      // Key order does not make other args: the same args reordered are a replay.
      const reordered = await exec("webhook_send", {
        idempotency_key: key,
        args: { payload: { order: 42 }, url: receiver.url },
      });
      expect(reordered.body.replayed).toBe(true);
    });
  });

  it("a retryable failure frees the key: the retry with the same key runs again", async () => {
    const slack = track(await startSlackServer());
    await withConfig({ SLACK_WEBHOOK_URL: slack.url, SKILL_RETRY_MAX_ATTEMPTS: "1" }, async () => {
      slack.fail(1, 503);
      const body = { args: { text: "hi" }, idempotency_key: `k-${randomUUID()}` };
      expect((await exec("slack_send", body)).status).toBe(502);
      const retry = await exec("slack_send", body);
      expect(retry.status).toBe(200);
      expect(retry.body.replayed).toBe(false);
      expect(slack.requests).toHaveLength(2);
      // A refusal (4xx) is final: stored, and answered again without a second request.
      slack.fail(1, 404, "no_service");
      const refused = { args: { text: "to nowhere" }, idempotency_key: `k-${randomUUID()}` };
      expect((await exec("slack_send", refused)).body.error.code).toBe("skills.upstream_rejected");
      const replay = await exec("slack_send", refused);
      expect(replay.status).toBe(502);
      expect(replay.body.error.code).toBe("skills.upstream_rejected");
      expect(slack.requests).toHaveLength(3);
    });
  });
});

describe("the shared circuit breaker through the execute route", () => {
  it("opens after 5 failures, refuses at once, lets one probe through 20 concurrent calls, closes", async () => {
    const slack = track(await startSlackServer());
    const cfg = { SLACK_WEBHOOK_URL: slack.url, SKILL_RETRY_MAX_ATTEMPTS: "1", SKILL_BREAKER_COOLDOWN_S: "1" };
    await withConfig(cfg, async () => {
      slack.always({ status: 500, body: "down" });
      for (let i = 0; i < 5; i++) expect((await exec("slack_send", { args: { text: `t${i}` } })).status).toBe(502);
      const refused = await exec("slack_send", { args: { text: "refused" } });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("skills.circuit_open");
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(slack.requests).toHaveLength(5);

      await new Promise((r) => setTimeout(r, 1_100));
      // The probe is answered late enough that the other 19 reach the breaker while it is still
      // out, however loaded the machine (a probe answered sooner closes the breaker, and calls
      // arriving after that rightly pass).
      slack.always({ status: 200, body: "ok", delayMs: 2_500 });
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) => exec("slack_send", { args: { text: `p${i}` } })),
      );
      expect(count(replies, (r) => r.status === 200)).toBe(1);
      expect(count(replies, (r) => r.status === 503 && r.body.error.code === "skills.circuit_open")).toBe(19);
      expect(slack.requests).toHaveLength(6);
      slack.always(undefined);
      expect((await exec("slack_send", { args: { text: "closed" } })).status).toBe(200);

      const list = await invoke("GET", "/api/v1/breakers", { key: t.keys.viewer.key });
      expect(list.body.data.find((b: { target: string }) => b.target === "slack")).toMatchObject({
        state: "CLOSED",
        failure_count: 0,
        tenant_id: null,
      });
      // The shared breaker's transitions are in status_history under the platform tenant.
      const history = await invoke("GET", "/api/v1/status_history/entity/circuit_breaker/slack", {
        key: t.keys.admin.key,
        query: { tenant: "system" },
      });
      expect(history.body.data.map((r: { new_status: string }) => r.new_status)).toEqual([
        "OPEN",
        "HALF_OPEN",
        "CLOSED",
      ]);
    });
  });

  it("a caller's own slack webhook_url has a breaker of its own tenant", async () => {
    const slack = track(await startSlackServer());
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1", SKILL_RETRY_MAX_ATTEMPTS: "1" }, async () => {
      slack.fail(1, 500);
      expect((await exec("slack_send", { args: { text: "x", webhook_url: slack.url } })).status).toBe(502);
      const mine = await invoke("GET", "/api/v1/breakers", { key: t.keys.viewer.key });
      const b = mine.body.data.find((x: { target: string }) => x.target === `slack:${new URL(slack.url).host}`);
      expect(b).toMatchObject({ tenant_id: t.tenant.id, failure_count: 1 });
    });
  });
});

describe("seeded backoff through the execution path", () => {
  it("the same run waits the same delays; another run waits others", async () => {
    const slack = track(await startSlackServer());
    const ctx = {
      requestId: "r",
      correlationId: "r",
      actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
    } as const;
    const runOnce = (runId: string) => {
      slack.fail(2, 503);
      return withContext(ctx, () => Skills.execute("slack_send", { text: runId }, { runId, opIndex: 7 }));
    };
    await withConfig(
      { SLACK_WEBHOOK_URL: slack.url, SKILL_RETRY_BASE_MS: "40", SKILL_RETRY_MAX_ATTEMPTS: "3" },
      async () => {
        const a = await runOnce("run-A");
        const again = await runOnce("run-A");
        const b = await runOnce("run-B");
        expect(a.retries.map((r) => r.attempt)).toEqual([1, 2]);
        expect(again.retries).toEqual(a.retries);
        expect(b.retries.map((r) => r.delay_ms)).not.toEqual(a.retries.map((r) => r.delay_ms));
        // The waits really happened: request n+1 came at least the recorded delay after request n.
        const at = slack.requests.slice(0, 3).map((r) => r.at);
        expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(a.retries[0]!.delay_ms - 5);
        expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(a.retries[1]!.delay_ms - 5);
      },
    );
  });
});

describe("m11 metrics", () => {
  it("are recorded by the execution path for every skill and merged in /metrics", async () => {
    const key = `m-${randomUUID()}`;
    const kv = { args: { op: "incr", key: "visits" }, idempotency_key: key };
    expect((await exec("kv_store", kv)).status).toBe(200);
    expect((await exec("kv_store", kv)).body.replayed).toBe(true);
    expect((await exec("kv_store", { ...kv, args: { op: "incr", key: "other" } })).status).toBe(409);
    const res = await invoke("GET", "/metrics", { key: t.keys.admin.key });
    expect(res.status).toBe(200);
    const text = res.text;
    const value = (line: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(line))
          ?.split(" ")
          .pop(),
      );
    expect(
      value(`m11_skill_executions_total{skill="kv_store",status="succeeded",tenant_id="${t.tenant.id}"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(`m11_skill_executions_total{skill="kv_store",status="replayed",tenant_id="${t.tenant.id}"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(value('m11_skill_idempotency_hits_total{skill="kv_store"}')).toBeGreaterThanOrEqual(1);
    expect(value('m11_skill_idempotency_conflicts_total{skill="kv_store"}')).toBeGreaterThanOrEqual(1);
    expect(value('m11_skill_execution_seconds_count{skill="kv_store"}')).toBeGreaterThanOrEqual(1);
    for (const name of [
      "m11_skill_executions_total",
      "m11_skill_execution_seconds",
      "m11_skill_idempotency_hits_total",
      "m11_skill_idempotency_conflicts_total",
      "m11_circuit_breaker_state",
      "m11_circuit_breaker_failures_total",
      "m11_circuit_breaker_successes_total",
      "m11_circuit_breaker_opens_total",
      "m11_circuit_breaker_closes_total",
      "m11_circuit_breaker_rejected_total",
    ])
      expect(text, name).toContain(`# TYPE ${name} `);
    // The seed's audit and replay metrics are the workflows domain's (core/workflows/metrics.ts).
    for (const name of [
      "m11_audit_ops_total",
      "m11_replay_runs_total",
      "m11_replay_ops_verified_total",
      "m11_replay_ops_mismatched_total",
      "m11_replay_verification_seconds",
    ])
      expect(text, name).not.toContain(`# TYPE ${name} `);
  });
});
