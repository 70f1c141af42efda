/**
 * webhook_send: POSTs JSON to the caller's URL, signed with HMAC-SHA256 over `timestamp.body`
 * (`X-AOS-Timestamp`, `X-AOS-Signature: v1=<hex>`) with the tenant's signing secret, so the
 * receiver can check the sender and refuse replays older than 5 minutes. The URL is SSRF-guarded
 * after DNS resolution; redirects are not followed; response size and time are capped.
 *
 * Each attempt is signed with its own timestamp (a retry after a Retry-After is still fresh), and
 * every attempt of one execution carries the same X-AOS-Delivery-Id, plus X-AOS-Idempotency-Key
 * when the caller gave one, so a receiver can de-duplicate.
 */
import { ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { UrlBlockedError } from "./errors.ts";
import { ensureOk, send } from "./outbound.ts";
import { isAllowListed, resolvePublic } from "./ssrf.ts";
import type { SkillRun } from "./types.ts";
import type { webhookSendSpec } from "./webhook-send-spec.ts";
import { sign, tenantSigningSecret } from "./webhook-signing.ts";

/** Headers AOS owns: framing, identity, and its own signature headers cannot be set by a caller. */
const RESERVED = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "user-agent",
  // Hop-by-hop: they change how the request travels, not what it says.
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "proxy-connection",
]);
/** What node refuses in a header value (CR and LF above all: header injection). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** The start of the receiver's reply kept in the result. */
const RESPONSE_PREVIEW_BYTES = 4096;

/** The caller's extra headers, lower-cased; a reserved name or a bad value is a 400 naming it. */
function extraHeaders(headers: Record<string, string> | undefined, argsField: string): Record<string, string> {
  const out: Record<string, string> = {};
  const issues: { field: string; message: string }[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (RESERVED.has(lower) || lower.startsWith("x-aos-"))
      issues.push({
        field: `${argsField}.headers.${name}`,
        message: "this header is set by AOS and cannot be overridden",
      });
    else if (BAD_VALUE.test(value))
      issues.push({
        field: `${argsField}.headers.${name}`,
        message: "control characters are not allowed in a header value",
      });
    else out[lower] = value;
  }
  if (issues.length)
    throw new ValidationError(`Invalid args for webhook_send: ${issues.map((i) => i.field).join(", ")}`, issues);
  return out;
}

export const webhookSend = {
  async run(args, ctx) {
    const extra = extraHeaders(args.headers, ctx.argsField);
    // The request is judged before the deployment: a URL the SSRF rules refuse is a 400 whatever
    // is configured (send() checks again, per attempt, and connects only to the checked addresses).
    const url = new URL(args.url);
    // A DNS failure here is left to send(), which reports it as the upstream's (and retries it).
    if (!isAllowListed(url))
      await resolvePublic(url, `${ctx.argsField}.url`).catch((e: unknown) => {
        if (e instanceof UrlBlockedError) throw e;
      });
    // Throws SkillNotConfiguredError without WEBHOOK_SIGNING_SECRET: nothing unsigned goes out.
    const secret = tenantSigningSecret(ctx.tenantId);
    const target = `webhook:${url.host}`;
    const body = JSON.stringify(args.payload ?? null);
    const res = await ctx.retry(0, async () => {
      const ts = Math.floor(clock().nowMs() / 1000);
      const headers: Record<string, string> = {
        ...extra,
        "content-type": "application/json",
        "user-agent": "AOS-Webhooks/1",
        "x-aos-timestamp": String(ts),
        "x-aos-signature": sign(secret, ts, body),
        "x-aos-delivery-id": ctx.executionId,
        ...(ctx.idempotencyKey ? { "x-aos-idempotency-key": ctx.idempotencyKey } : {}),
      };
      const r = await send({
        target,
        url: args.url,
        method: "POST",
        headers,
        body,
        guard: { field: `${ctx.argsField}.url` },
        signal: ctx.signal,
      });
      return ensureOk(r, target);
    });
    return {
      status: res.status,
      delivery_id: ctx.executionId,
      // The receiver's bytes, decoded (bad UTF-8 becomes U+FFFD) and a NUL too: Postgres cannot
      // store one, and the result is stored (idempotency, a job item's result).
      response_body: res.body.subarray(0, RESPONSE_PREVIEW_BYTES).toString("utf8").replaceAll("\u0000", "\ufffd"),
    };
  },
} satisfies SkillRun<typeof webhookSendSpec>;
