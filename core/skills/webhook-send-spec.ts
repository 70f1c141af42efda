/**
 * What webhook_send declares: its argument and result schemas and its spec (registry.ts reads this;
 * validation, pricing and descriptions need nothing else). Its `run` is webhook-send.ts, loaded only
 * when the skill is called (runnable.ts).
 */
import * as z from "zod/mini";
import { defineSpec } from "./types.ts";

export const WebhookSendArgs = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** Any JSON value; sent as the request body. */
  payload: z.unknown(),
  /** Extra request headers; AOS's own (X-AOS-*, content-type, host ...) cannot be overridden. */
  headers: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/)), z.string().check(z.maxLength(1024)))),
});
export type WebhookSendArgs = z.output<typeof WebhookSendArgs>;

export const WebhookSendResult = z.object({
  /** The receiver's HTTP status (2xx). */
  status: z.int(),
  /** Sent as X-AOS-Delivery-Id: the same for every retry of one execution, so receivers can de-duplicate. */
  delivery_id: z.string(),
  /** The start of the receiver's reply (at most 4 KiB, as text). */
  response_body: z.string(),
});

/** What webhookSend declares (spawn and simulation read only this). */
export const webhookSendSpec = defineSpec({
  name: "webhook_send",
  version: "1.0.0",
  description: "POST a JSON payload to a URL, signed with HMAC-SHA256 (X-AOS-Timestamp, X-AOS-Signature: v1=<hex>)",
  input: WebhookSendArgs,
  output: WebhookSendResult,
  deterministic: false,
  sideEffects: true,
  breaker: { scope: "tenant", target: (args) => `webhook:${new URL(args.url).host}` },
  cost: { base: 1, units: () => 0 },
});
