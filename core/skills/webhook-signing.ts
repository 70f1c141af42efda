/**
 * Webhook signatures. Each tenant signs with its own secret, derived from WEBHOOK_SIGNING_SECRET
 * (HMAC-SHA256 of the tenant id), so a tenant that knows its secret cannot forge a webhook to
 * another tenant's receivers, and rotating the master rotates every tenant's.
 *
 * @example
 *   const secret = tenantSigningSecret(tenantId);
 *   const ts = Math.floor(Date.now() / 1000);
 *   headers["X-AOS-Signature"] = sign(secret, ts, body); // "v1=5f3a..."
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import { SkillNotConfiguredError } from "./errors.ts";

/** Receivers should refuse a timestamp further than this from their own clock. */
export const SIGNATURE_TOLERANCE_S = 300;

export const SIGNATURE_HEADERS = Object.freeze({
  timestamp: "X-AOS-Timestamp",
  signature: "X-AOS-Signature",
  delivery_id: "X-AOS-Delivery-Id",
});

const hmacHex = (key: string, data: string | Buffer) => createHmac("sha256", key).update(data).digest("hex");

/** `whsec_<64 hex>`: the tenant's signing secret (its receivers verify with it). */
export function tenantSigningSecret(tenantId: string): string {
  const master = config().skills.webhook.signingSecret;
  if (!master) throw new SkillNotConfiguredError("webhook_send", "WEBHOOK_SIGNING_SECRET");
  // The label versions the derivation: a future scheme gets other secrets, never a collision.
  return `whsec_${hmacHex(master, `aos-webhook-v1:${tenantId}`)}`;
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${hmacHex(secret, `${timestamp}.${body}`)}`;
}

export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing_headers" | "stale_timestamp" | "bad_signature" };

/**
 * What a receiver does with a delivery (copy it): the timestamp within `toleranceS` of its own
 * clock, and one of the `v1=` signatures (comma-separated during a secret rotation) equal, in
 * constant time, to the HMAC of `<X-AOS-Timestamp>.<raw body>`. Header names in lower case, as
 * node's IncomingMessage has them.
 *
 * @example
 *   const v = verifySignature(secret, req.headers, rawBody, Math.floor(Date.now() / 1000));
 *   if (!v.ok) return res.writeHead(401).end(v.reason);
 */
export function verifySignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string | Buffer,
  nowS: number,
  toleranceS = SIGNATURE_TOLERANCE_S,
): VerifyResult {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const tsRaw = one(headers["x-aos-timestamp"]);
  const sigRaw = one(headers["x-aos-signature"]);
  if (!tsRaw || !sigRaw || !/^\d{1,12}$/.test(tsRaw)) return { ok: false, reason: "missing_headers" };
  const ts = Number(tsRaw);
  if (Math.abs(nowS - ts) > toleranceS) return { ok: false, reason: "stale_timestamp" };
  const expected = Buffer.from(hmacHex(secret, Buffer.concat([Buffer.from(`${tsRaw}.`), Buffer.from(rawBody)])));
  const match = sigRaw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("v1="))
    .some((s) => {
      const got = Buffer.from(s.slice(3));
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
  return match ? { ok: true, timestamp: ts } : { ok: false, reason: "bad_signature" };
}

/** The current tenant's secret and how to verify with it (`GET /api/v1/webhooks/signing_secret`). */
export async function webhookSigningSecret(): Promise<{
  secret: string;
  algorithm: "HMAC-SHA256";
  signed_payload: string;
  headers: { timestamp: string; signature: string; delivery_id: string };
  tolerance_s: number;
}> {
  return {
    secret: tenantSigningSecret(useTenant()),
    algorithm: "HMAC-SHA256",
    signed_payload: "<X-AOS-Timestamp>.<raw body>",
    headers: { ...SIGNATURE_HEADERS },
    tolerance_s: SIGNATURE_TOLERANCE_S,
  };
}
