/**
 * slack_send and webhook_send through the execute route, against real loopback servers: a
 * Slack-like webhook (429 Retry-After honoured, a 400 not retried) and a receiver that verifies
 * X-AOS-Signature with the tenant's secret from GET /api/v1/webhooks/signing_secret and refuses
 * stale timestamps; SSRF refusal, a missing signing secret and reserved headers as errors.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { sign } from "../../core/skills/webhook-signing.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { closedAfterEach, startSlackServer, startWebhookReceiver } from "../setup/external-servers.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const MASTER = "whsec-master-for-tests-0123456789abcdef0123";
const RETRY = { SKILL_RETRY_BASE_MS: "10", SKILL_RETRY_MAX_MS: "50" };
const exec = (skill: string, key: string, args: unknown) =>
  invoke("POST", `/api/v1/skills/${skill}/execute`, { key, body: { args } });
const fields = (res: { body: any }): string[] => res.body.error.details.fields.map((f: { field: string }) => f.field);

let t: Tenant;
let other: Tenant;
const track = closedAfterEach();
beforeAll(async () => {
  t = await makeTenantWithKeys();
  // Direct executions are charged: enough credits that no test here meets a 402.
  await grantCredits(t.tenant.id, 1_000_000);
  other = await makeTenantWithKeys();
  // Direct executions are charged: enough credits that no test here meets a 402.
  await grantCredits(other.tenant.id, 1_000_000);
});

describe("slack_send", () => {
  const slackConfig = (url: string, more: Record<string, string> = {}) => ({
    SLACK_WEBHOOK_URL: url,
    SKILL_OUTBOUND_ALLOW_HOSTS: "",
    ...RETRY,
    ...more,
  });

  it("posts text and blocks to the configured webhook (trusted: not SSRF-guarded)", async () => {
    const slack = track(await startSlackServer());
    await withConfig(slackConfig(slack.url), async () => {
      const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*hi*" } }];
      const res = await exec("slack_send", t.keys.agent.key, { text: "hello", blocks });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ skill: "slack_send", result: { ok: true, status: 200 }, retries: [] });
      expect(slack.requests).toHaveLength(1);
      expect(slack.requests[0]!.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(slack.requests[0]!.text)).toEqual({ text: "hello", blocks });
    });
  });

  it("waits what a 429's Retry-After asks, then succeeds", async () => {
    const slack = track(await startSlackServer());
    slack.throttle(1, 1);
    await withConfig(slackConfig(slack.url), async () => {
      const res = await exec("slack_send", t.keys.agent.key, { text: "later" });
      expect(res.status).toBe(200);
      expect(res.body.retries).toEqual([{ step: 0, attempt: 1, delay_ms: 1000, error_code: "skills.upstream_error" }]);
      expect(slack.requests).toHaveLength(2);
      expect(slack.requests[1]!.at - slack.requests[0]!.at).toBeGreaterThanOrEqual(950);
    });
  });

  it("does not retry a 400 and never shows the webhook URL", async () => {
    const slack = track(await startSlackServer());
    slack.fail(5, 400, "invalid_payload");
    await withConfig(slackConfig(slack.url), async () => {
      const res = await exec("slack_send", t.keys.agent.key, { text: "x" });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe("skills.upstream_rejected");
      expect(res.body.error.details).toEqual({ target: "slack", upstream_status: 400 });
      expect(res.text).not.toContain("XXXXXXXX");
      expect(slack.requests).toHaveLength(1);
    });
  });

  it("matches a refusal by Slack's body (the catalog's slack.webhook_revoked), and keeps the body off the reply", async () => {
    const slack = track(await startSlackServer());
    slack.fail(5, 403, "invalid_token");
    await withConfig(slackConfig(slack.url), async () => {
      const res = await exec("slack_send", t.keys.agent.key, { text: "revoked?" });
      expect(res.status).toBe(502);
      expect(res.body.error.details).toEqual({ target: "slack", upstream_status: 403 });
      expect(res.text).not.toContain("invalid_token");
      const { rows } = await query<{ catalog_entry_id: string; error_message: string }>(
        "select catalog_entry_id, error_message from failure_matches where tenant_id = $1 and skill_id = 'slack_send' order by created_at desc limit 1",
        [t.tenant.id],
      );
      // Without the body it would be upstream.auth_rejected: rotate a key, not create a new webhook.
      expect(rows[0]).toEqual({
        catalog_entry_id: "slack.webhook_revoked",
        error_message: "slack refused the request (403)",
      });
    });
  });

  it("guards a webhook_url from the request: refused on loopback, allowed once allow-listed", async () => {
    const configured = track(await startSlackServer());
    const own = track(await startSlackServer());
    await withConfig(slackConfig(configured.url), async () => {
      const res = await exec("slack_send", t.keys.agent.key, { text: "x", webhook_url: own.url });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("skills.url_blocked");
      expect(fields(res)).toEqual(["body.args.webhook_url"]);
      expect(own.connections()).toBe(0);
    });
    await withConfig(slackConfig(configured.url, { SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" }), async () => {
      const res = await exec("slack_send", t.keys.agent.key, { text: "x", webhook_url: own.url });
      expect(res.status).toBe(200);
      expect(own.requests).toHaveLength(1);
    });
    expect(configured.requests).toHaveLength(0);
  });

  it("answers 503 skills.not_configured without a webhook URL", async () => {
    const res = await exec("slack_send", t.keys.agent.key, { text: "x" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("skills.not_configured");
  });
});

describe("webhook_send", () => {
  const hookConfig = (more: Record<string, string> = {}) => ({
    WEBHOOK_SIGNING_SECRET: MASTER,
    SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
    ...RETRY,
    ...more,
  });
  const secretOf = async (tenant: Tenant): Promise<string> => {
    const res = await invoke("GET", "/api/v1/webhooks/signing_secret", { key: tenant.keys.operator.key });
    expect(res.status).toBe(200);
    return res.body.secret;
  };

  it("delivers a payload the receiver verifies with the tenant's published secret", async () => {
    await withConfig(hookConfig(), async () => {
      const published = await invoke("GET", "/api/v1/webhooks/signing_secret", { key: t.keys.operator.key });
      expect(published.body).toEqual({
        secret: expect.stringMatching(/^whsec_[0-9a-f]{64}$/),
        algorithm: "HMAC-SHA256",
        signed_payload: "<X-AOS-Timestamp>.<raw body>",
        headers: { timestamp: "X-AOS-Timestamp", signature: "X-AOS-Signature", delivery_id: "X-AOS-Delivery-Id" },
        tolerance_s: 300,
      });
      const hook = track(await startWebhookReceiver({ secret: published.body.secret }));
      const payload = { event: "order.paid", amount: 42, tags: ["a", "é"] };
      const res = await exec("webhook_send", t.keys.agent.key, {
        url: hook.url,
        payload,
        headers: { "X-Trace-Id": "abc" },
      });
      expect(res.status).toBe(200);
      expect(res.body.result).toEqual({
        status: 200,
        delivery_id: res.body.execution_id,
        response_body: '{"received":true}',
      });
      expect(hook.rejected).toHaveLength(0);
      expect(hook.deliveries).toHaveLength(1);
      const d = hook.deliveries[0]!;
      expect(JSON.parse(d.text)).toEqual(payload);
      expect(d.deliveryId).toBe(res.body.execution_id);
      expect(d.headers).toMatchObject({
        "content-type": "application/json",
        "user-agent": "AOS-Webhooks/1",
        "x-trace-id": "abc",
        "x-aos-signature": expect.stringMatching(/^v1=[0-9a-f]{64}$/),
      });
      expect(d.headers["x-aos-idempotency-key"]).toBeUndefined();
    });
  });

  it("is refused by a receiver holding another tenant's secret", async () => {
    await withConfig(hookConfig(), async () => {
      const theirs = await secretOf(other);
      expect(theirs).not.toBe(await secretOf(t));
      const hook = track(await startWebhookReceiver({ secret: theirs }));
      const res = await exec("webhook_send", t.keys.agent.key, { url: hook.url, payload: { x: 1 } });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe("skills.upstream_rejected");
      expect(res.body.error.details.upstream_status).toBe(401);
      expect(hook.rejected.map((r) => r.reason)).toEqual(["bad_signature"]);
      expect(hook.deliveries).toHaveLength(0);
    });
  });

  it("lets the receiver refuse a replay whose timestamp is older than 5 minutes", async () => {
    await withConfig(hookConfig(), async () => {
      const secret = await secretOf(t);
      const hook = track(await startWebhookReceiver({ secret }));
      expect((await exec("webhook_send", t.keys.agent.key, { url: hook.url, payload: { n: 1 } })).status).toBe(200);
      const captured = hook.deliveries[0]!;
      // Re-send the captured delivery, correctly signed, at a given age.
      const replay = (ageS: number) => {
        const ts = Math.floor(Date.now() / 1000) - ageS;
        return fetch(hook.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-aos-delivery-id": captured.deliveryId,
            "x-aos-timestamp": String(ts),
            "x-aos-signature": sign(secret, ts, captured.text),
          },
          body: captured.text,
        });
      };
      expect((await replay(301)).status).toBe(401);
      expect(hook.rejected.map((r) => r.reason)).toEqual(["stale_timestamp"]);
      expect((await replay(10)).status).toBe(200);
    });
  });

  it("refuses a private URL with a 400 naming the field, without connecting", async () => {
    await withConfig(hookConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "" }), async () => {
      const hook = track(await startWebhookReceiver({ secret: await secretOf(t) }));
      for (const url of [hook.url, "http://169.254.169.254/latest/meta-data/", "http://[::1]/"]) {
        const res = await exec("webhook_send", t.keys.agent.key, { url, payload: {} });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("skills.url_blocked");
        expect(fields(res)).toEqual(["body.args.url"]);
      }
      expect(hook.connections()).toBe(0);
    });
  });

  it("refuses a redirect and keeps only the start of a long reply", async () => {
    await withConfig(hookConfig(), async () => {
      const hook = track(await startWebhookReceiver({ secret: await secretOf(t) }));
      hook.redirect("http://169.254.169.254/latest/meta-data/");
      const redirected = await exec("webhook_send", t.keys.agent.key, { url: hook.url, payload: {} });
      expect(redirected.status).toBe(502);
      expect(redirected.body.error.code).toBe("skills.redirect_refused");
      hook.next({ body: "y".repeat(10_000) });
      const long = await exec("webhook_send", t.keys.agent.key, { url: hook.url, payload: {} });
      expect(long.status).toBe(200);
      expect(long.body.result.response_body).toBe("y".repeat(4096));
      expect(hook.deliveries).toHaveLength(2);
    });
  });

  it("refuses a blocked URL with 400 before it looks for the signing secret", async () => {
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "" }, async () => {
      for (const url of ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/"]) {
        const res = await exec("webhook_send", t.keys.agent.key, { url, payload: {} });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("skills.url_blocked");
        expect(res.body.error.message).toMatch(/SKILL_OUTBOUND_ALLOW_HOSTS/);
        expect(fields(res)).toEqual(["body.args.url"]);
      }
    });
  });

  it("answers 503 skills.not_configured without a signing secret, and sends nothing", async () => {
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" }, async () => {
      const hook = track(await startWebhookReceiver({ secret: "whsec_x" }));
      const res = await exec("webhook_send", t.keys.agent.key, { url: hook.url, payload: {} });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("skills.not_configured");
      const secret = await invoke("GET", "/api/v1/webhooks/signing_secret", { key: t.keys.operator.key });
      expect(secret.status).toBe(503);
      expect(hook.connections()).toBe(0);
    });
  });

  it("refuses to let args.headers override AOS's own headers", async () => {
    await withConfig(hookConfig(), async () => {
      const hook = track(await startWebhookReceiver({ secret: await secretOf(t) }));
      const res = await exec("webhook_send", t.keys.agent.key, {
        url: hook.url,
        payload: {},
        headers: { "X-AOS-Signature": "v1=forged", "Content-Type": "text/plain", "X-Fine": "ok" },
      });
      expect(res.status).toBe(400);
      expect(fields(res).sort()).toEqual(["body.args.headers.Content-Type", "body.args.headers.X-AOS-Signature"]);
      expect(hook.connections()).toBe(0);
    });
  });
});
