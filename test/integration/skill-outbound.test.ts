/**
 * Outbound HTTP for external skills against real loopback servers: the SSRF guard (refusing
 * before any connection is made), the allow list, redirects not followed, the response size and
 * time caps, network errors, and how ensureOk classifies replies (Retry-After in both forms).
 * Also webhook_send's `run` with a hand-made context: one delivery id and a fresh signature per
 * attempt, the idempotency key forwarded.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { UpstreamError, UrlBlockedError } from "../../core/skills/errors.ts";
import { ensureOk, type OutboundRequest, parseRetryAfter, send } from "../../core/skills/outbound.ts";
import { withRetries } from "../../core/skills/retry.ts";
import { blockedReason } from "../../core/skills/ssrf.ts";
import type { SkillContext } from "../../core/skills/types.ts";
import { webhookSend } from "../../core/skills/webhook-send.ts";
import { tenantSigningSecret, verifySignature } from "../../core/skills/webhook-signing.ts";
import { withConfig } from "../setup/config-override.ts";
import { caught } from "../setup/errors.ts";
import {
  type ScriptedServer,
  startScriptedServer,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../setup/external-servers.ts";
import { closedPort } from "../setup/net.ts";

const MASTER = "test-master-secret-0123456789abcdef0123456789";
const guarded = (url: string, extra: Partial<OutboundRequest> = {}): OutboundRequest => ({
  target: "webhook:test",
  url,
  method: "POST",
  body: "{}",
  guard: { field: "args.url" },
  timeoutMs: 2000,
  ...extra,
});

let local: WebhookReceiver;
let port: number;
beforeAll(async () => {
  // A listener on loopback: a refused URL must not even open a TCP connection to it.
  local = await startWebhookReceiver({ secret: "unused" });
  port = Number(new URL(local.origin).port);
});
afterAll(() => local.close());

describe("SSRF guard (empty allow list)", () => {
  const refused: [string, () => string, RegExp][] = [
    ["loopback IPv4", () => `http://127.0.0.1:${port}/hooks`, /loopback/],
    ["private 10/8", () => "http://10.0.0.1/", /private/],
    ["cloud metadata", () => "http://169.254.169.254/latest/meta-data/", /link-local/],
    ["loopback IPv6", () => `http://[::1]:${port}/`, /loopback/],
    ["a hostname resolving to loopback", () => `http://localhost:${port}/`, /resolves to a loopback/],
    ["hex IPv4", () => `http://0x7f000001:${port}/`, /loopback/],
    ["decimal IPv4", () => `http://2130706433:${port}/`, /loopback/],
    ["short hex IPv4", () => `http://0x7f.1:${port}/`, /loopback/],
    ["IPv4-mapped IPv6", () => `http://[::ffff:127.0.0.1]:${port}/`, /loopback/],
    ["NAT64 of the metadata address", () => "http://[64:ff9b::a9fe:a9fe]/", /link-local/],
    ["private 172.16/12", () => "http://172.16.0.1/", /private/],
    ["private 192.168/16", () => "http://192.168.1.1/", /private/],
    ["shared 100.64/10", () => "http://100.64.0.1/", /private/],
    ["unspecified 0.0.0.0", () => `http://0.0.0.0:${port}/`, /unspecified/],
    ["AWS IPv6 metadata", () => "http://[fd00:ec2::254]/", /private/],
  ];

  it.each(refused)("refuses %s with a 400 naming the field, before connecting", async (_name, url, reason) => {
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "" }, async () => {
      const before = local.connections();
      const err = await caught(send(guarded(url())));
      expect(err).toBeInstanceOf(UrlBlockedError);
      expect(err.status).toBe(400);
      expect(err.code).toBe("skills.url_blocked");
      expect(err.details).toEqual({ fields: [{ field: "args.url", message: expect.stringMatching(reason) }] });
      expect(local.connections()).toBe(before);
    });
  });

  it("never opened a connection to the loopback listener, and never names the URL", async () => {
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "" }, async () => {
      const err = await caught(send(guarded(`http://127.0.0.1:${port}/hooks/secret-token-123`)));
      expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain("secret-token-123");
    });
    expect(local.connections()).toBe(0);
    expect(local.requests).toHaveLength(0);
  });

  it("refuses protocols other than http and https", async () => {
    const err = await caught(send(guarded("ftp://example.com/x")));
    expect(err).toBeInstanceOf(UrlBlockedError);
  });

  it("classifies public addresses as callable, including their IPv6-embedded forms", () => {
    for (const ip of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
      expect(blockedReason(ip), ip).toBeUndefined();
    for (const ip of ["::", "fe80::1%eth0", "ff02::1", "2001:db8::1", "2002:7f00:1::", "198.18.0.1", "224.0.0.1"])
      expect(blockedReason(ip), ip).toBeDefined();
  });

  it("lets an allow-listed host through (host, or host:port), and only that port", async () => {
    const url = `http://127.0.0.1:${port}/hooks`;
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" }, async () => {
      const res = await send(guarded(url));
      expect(res.status).toBe(401); // the receiver answered (unsigned): the request got through
    });
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: `localhost:${port}` }, async () => {
      const res = await send(guarded(`http://localhost:${port}/hooks`));
      expect(res.status).toBe(401);
      // The Host header is the name that was asked for.
      expect(local.requests.at(-1)?.headers.host).toBe(`localhost:${port}`);
    });
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${port + 1}` }, async () => {
      expect(await caught(send(guarded(url)))).toBeInstanceOf(UrlBlockedError);
    });
    expect(local.requests).toHaveLength(2);
  });

  it("does not guard a trusted (configured) URL", async () => {
    const res = await send({ target: "slack", url: `${local.origin}/x`, method: "POST", body: "{}" });
    expect(res.status).toBe(401);
  });
});

describe("limits", () => {
  let servers: ScriptedServer[] = [];
  const server = async () => {
    const srv = await startScriptedServer();
    servers.push(srv);
    return srv;
  };
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it("does not follow a redirect: the Location target receives nothing", async () => {
    const elsewhere = await server();
    const redirecting = await server();
    redirecting.always({ status: 302, headers: { location: `${elsewhere.origin}/stolen` } });
    await withConfig({ SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" }, async () => {
      const res = await send(guarded(`${redirecting.origin}/hook`));
      expect(res.status).toBe(302);
      const err = await caught(Promise.resolve().then(() => ensureOk(res, "webhook:test")));
      expect(err.code).toBe("skills.redirect_refused");
      expect(err.retryable).toBe(false);
    });
    expect(redirecting.requests).toHaveLength(1);
    expect(elsewhere.connections()).toBe(0);
  });

  it("caps the response size, whether announced by content-length or streamed", async () => {
    const srv = await server();
    srv.always({ body: "x".repeat(2000) });
    const ok = await send({ target: "t", url: srv.origin, maxResponseBytes: 2000 });
    expect(ok.body.length).toBe(2000);
    const err = await caught(send({ target: "t", url: srv.origin, maxResponseBytes: 1999 }));
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.code).toBe("skills.response_too_large");
    expect(err.retryable).toBe(false);

    srv.always({ streamBytes: 5 * 1024 * 1024 });
    const streamed = await caught(send({ target: "t", url: srv.origin, maxResponseBytes: 64 * 1024 }));
    expect(streamed.code).toBe("skills.response_too_large");
  });

  it("times out an attempt that gets no answer in time (retryable), not one that does", async () => {
    const srv = await server();
    srv.always({ delayMs: 100 });
    expect((await send({ target: "t", url: srv.origin, timeoutMs: 2000 })).status).toBe(200);
    srv.always({ hang: true });
    const started = Date.now();
    const err = await caught(send({ target: "t", url: srv.origin, timeoutMs: 200 }));
    expect(err.code).toBe("skills.upstream_timeout");
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("turns a refused connection into a retryable upstream_unreachable", async () => {
    const err = await caught(send({ target: "t", url: `http://127.0.0.1:${await closedPort()}/` }));
    expect(err.code).toBe("skills.upstream_unreachable");
    expect(err.retryable).toBe(true);
  });

  it("stops when the caller's signal aborts, with the signal's reason", async () => {
    const srv = await server();
    srv.always({ hang: true });
    const ctl = new AbortController();
    const reason = new Error("deadline");
    setTimeout(() => ctl.abort(reason), 100);
    await expect(send({ target: "t", url: srv.origin, signal: ctl.signal })).rejects.toBe(reason);
  });
});

describe("ensureOk", () => {
  const res = (status: number, headers: Record<string, string> = {}) => ({ status, headers, body: Buffer.alloc(0) });
  const err = (status: number, headers?: Record<string, string>) => {
    try {
      ensureOk(res(status, headers), "slack");
    } catch (e) {
      return e as UpstreamError;
    }
    throw new Error(`${status} passed`);
  };

  it("passes 2xx and classifies the rest", () => {
    expect(ensureOk(res(204), "slack").status).toBe(204);
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(err(s).retryable, String(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 410, 422]) {
      expect(err(s).retryable).toBe(false);
      expect(err(s).code).toBe("skills.upstream_rejected");
      expect(err(s).status).toBe(502);
      expect(err(s).upstreamStatus).toBe(s);
    }
    expect(err(301).code).toBe("skills.redirect_refused");
  });

  it("keeps Retry-After as delta-seconds or an HTTP-date", () => {
    expect(err(429, { "retry-after": "7" }).retryAfterMs).toBe(7000);
    expect(err(429, { "retry-after": "7" }).retryAfterS).toBe(7);
    const at = Date.now() + 5000;
    const ms = err(503, { "retry-after": new Date(at).toUTCString() }).retryAfterMs!;
    expect(ms).toBeGreaterThan(3500);
    expect(ms).toBeLessThanOrEqual(5000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBe(0);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(err(500).retryAfterMs).toBeUndefined();
  });
});

describe("webhook_send run", () => {
  it("signs each attempt afresh with one delivery id, and forwards the idempotency key", async () => {
    await withConfig({ WEBHOOK_SIGNING_SECRET: MASTER, SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" }, async () => {
      const tenantId = randomUUID();
      const secret = tenantSigningSecret(tenantId);
      const hook = await startWebhookReceiver({ secret });
      hook.fail(503, 1, { "retry-after": "1" });
      const ctl = new AbortController();
      const ctx: SkillContext = {
        tenantId,
        executionId: randomUUID(),
        idempotencyKey: "order-42",
        argsField: "args",
        signal: ctl.signal,
        retry: (step, fn) => withRetries({ runId: "r", opIndex: 0, step }, config().skills.retry, fn),
      };
      try {
        const out = (await webhookSend.run({ url: hook.url, payload: { a: 1 } }, ctx)) as Record<string, unknown>;
        expect(out).toEqual({ status: 200, delivery_id: ctx.executionId, response_body: '{"received":true}' });
        const [first, second] = hook.deliveries;
        expect(hook.deliveries.map((d) => d.status)).toEqual([503, 200]);
        expect(second!.timestamp).toBeGreaterThan(first!.timestamp);
        for (const d of [first!, second!]) {
          expect(d.deliveryId).toBe(ctx.executionId);
          expect(d.headers["x-aos-idempotency-key"]).toBe("order-42");
          expect(d.text).toBe('{"a":1}');
          expect(verifySignature(secret, d.headers, d.body, d.timestamp).ok).toBe(true);
        }
        // Another tenant's secret does not verify it.
        expect(
          verifySignature(tenantSigningSecret(randomUUID()), second!.headers, second!.body, second!.timestamp),
        ).toEqual({ ok: false, reason: "bad_signature" });
      } finally {
        await hook.close();
      }
    });
  });
});
