/**
 * The seed's five-step workflow (PIN-060) end to end over the real WorkflowSteps queue and real
 * loopback receivers: kv_store set -> kv_store get -> webhook_send with the value (the receiver
 * checks the signature) -> slack_send -> voyage_embed of the value. Its ops, hashes, chain,
 * summary and credits; then its replay verifies (voyage_embed run again, nothing else).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Skills from "../../core/skills/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { invoke } from "../events/index.ts";
import { checkedKeyedTenants } from "../factories/jobs.ts";
import {
  assertRunCredits,
  drainSteps,
  registerWorkflow,
  runLedger,
  startRun,
  stepMessages,
} from "../factories/workflows.ts";
import { withConfig } from "../setup/config-override.ts";
import {
  closedAfterEach,
  type SlackServer,
  startSlackServer,
  startWebhookReceiver,
} from "../setup/external-servers.ts";
import { expectedVector, startVoyageServer, type VoyageServer } from "../setup/voyage-server.ts";

const MASTER = "whsec-master-for-workflow-tests-0123456789ab";
const VOYAGE_KEY = "vk-workflow-e2e";
const tenant = checkedKeyedTenants();
const track = closedAfterEach();
let voyage: VoyageServer;
let slack: SlackServer;

beforeAll(async () => {
  voyage = await startVoyageServer({ apiKey: VOYAGE_KEY });
  await stepMessages();
});
afterAll(() => voyage.close());

const steps = [
  { id: "store", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: { $ref: "input.value" } } },
  { id: "fetch", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
  {
    id: "notify",
    skill: "webhook_send",
    args: {
      url: { $ref: "input.webhook_url" },
      payload: { event: "value.stored", value: { $ref: "steps.fetch.result.value" } },
    },
  },
  { id: "announce", skill: "slack_send", args: { text: { $ref: "steps.fetch.result.value" } } },
  { id: "embed", skill: "voyage_embed", args: { input: [{ $ref: "steps.fetch.result.value" }] } },
];

describe("the seed's five-step workflow", () => {
  it("runs against loopback receivers: each side effect once, ops hashed and chained, credits exact, replay verifies", async () => {
    const t = await tenant(100);
    slack = track(await startSlackServer());
    const env = {
      SLACK_WEBHOOK_URL: slack.url,
      WEBHOOK_SIGNING_SECRET: MASTER,
      SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
      VOYAGE_API_KEY: VOYAGE_KEY,
      VOYAGE_BASE_URL: voyage.url,
      SKILL_RETRY_BASE_MS: "10",
    };
    await withConfig(env, async () => {
      const secret = (await invoke("GET", "/api/v1/webhooks/signing_secret", { key: t.keys.operator.key })).body.secret;
      const hook = track(await startWebhookReceiver({ secret }));
      await registerWorkflow(t.keys.agent.key, "m11-five-step", steps);
      const value = "the quick brown fox";
      const run = await startRun(t.keys.agent.key, "m11-five-step", {
        input: { key: "greeting", value, webhook_url: hook.url },
      });
      expect(await drainSteps()).toBe(1); // one delivery runs all five ops (WORKFLOW_STEP_CHAIN_S)

      const done = (await invoke("GET", `/api/v1/workflows/runs/${run.id}`, { key: t.keys.viewer.key })).body;
      expect(done.status, JSON.stringify(done.error)).toBe("completed");
      expect(done.ops.map((o: { op_type: string }) => o.op_type)).toEqual([
        "kv_store",
        "kv_store",
        "webhook_send",
        "slack_send",
        "voyage_embed",
      ]);
      // Each receiver got exactly one request, with the value the get returned.
      expect(hook.deliveries).toHaveLength(1);
      expect(JSON.parse(String(hook.deliveries[0]?.body))).toEqual({ event: "value.stored", value });
      expect(slack.requests).toHaveLength(1);
      expect(voyage.requests).toHaveLength(1);
      expect(done.ops[4].result.embeddings).toEqual([expectedVector(value)]);
      // Hashes and chain.
      for (const o of done.ops) {
        expect(o.args_hash).toBe(Workflows.hashJson(o.args));
        expect(o.result_hash).toBe(Workflows.hashJson(o.result));
      }
      expect(Workflows.checkChain(run.id, done.ops, done.head_hash)).toEqual([]);
      expect(done.summary).toMatchObject({ total_ops: 5, completed_ops: 5, failed_ops: 0 });
      // Credits: each op charged its skill's cost model for its args; reserve = charge + release.
      const costs = done.ops.map((o: { op_type: string; args: unknown }) =>
        Skills.cost(o.op_type, Skills.validateArgs(o.op_type, o.args)),
      );
      expect(done.ops.map((o: { credits: number }) => o.credits)).toEqual(costs);
      await assertRunCredits(run.id);
      const ledger = await runLedger(run.id);
      expect(ledger.charge?.n).toBe(5);

      // The replay verifies; only voyage_embed (deterministic, no side effect) runs again.
      const replay = await invoke("POST", `/api/v1/workflows/runs/${run.id}/replay`, {
        key: t.keys.agent.key,
        body: {},
      });
      expect(replay.body).toMatchObject({ status: "verified", ops_total: 5, ops_verified: 5, ops_failed: 0 });
      expect(voyage.requests).toHaveLength(2);
      expect(hook.deliveries).toHaveLength(1);
      expect(slack.requests).toHaveLength(1);
    });
  });
});
