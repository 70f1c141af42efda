/**
 * What slack_send declares: its argument and result schemas and its spec (registry.ts reads this;
 * validation, pricing and descriptions need nothing else). Its `run` is slack-send.ts, loaded only
 * when the skill is called (runnable.ts).
 */
import * as z from "zod/mini";
import { defineSpec } from "./types.ts";

export const SlackSendArgs = z.strictObject({
  text: z.string().check(z.minLength(1), z.maxLength(40_000)),
  /** Block Kit blocks, passed through. */
  blocks: z.optional(z.array(z.record(z.string(), z.unknown())).check(z.maxLength(50))),
  /** An incoming-webhook URL other than the configured one (https). */
  webhook_url: z.optional(z.url({ protocol: /^https?$/ })),
});
export type SlackSendArgs = z.output<typeof SlackSendArgs>;

export const SlackSendResult = z.object({
  ok: z.literal(true),
  /** Slack's HTTP status (200). */
  status: z.int(),
});

/** What slackSend declares (spawn and simulation read only this). */
export const slackSendSpec = defineSpec({
  name: "slack_send",
  version: "1.0.0",
  description: "Post a message to a Slack incoming webhook",
  input: SlackSendArgs,
  output: SlackSendResult,
  deterministic: false,
  sideEffects: true,
  // The configured webhook is AOS's own, shared by every tenant; a webhook_url a caller supplies is
  // that tenant's business, so its failures open only that tenant's breaker of that host.
  breaker: {
    scope: "global",
    target: (args) => (args.webhook_url ? `slack:${new URL(args.webhook_url).host}` : "slack"),
    scopeFor: (args) => (args.webhook_url ? "tenant" : "global"),
  },
  cost: { base: 1, units: () => 0 },
});
