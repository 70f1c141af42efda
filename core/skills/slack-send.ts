/**
 * slack_send: posts a message to a Slack incoming webhook (SLACK_WEBHOOK_URL, or the call's own
 * `webhook_url`, which is SSRF-guarded). Slack's 429 Retry-After is honoured by the retry policy.
 *
 * The webhook URL is a credential (whoever has it may post to the channel): it never appears in
 * an error message or a log line; errors name the target `slack` only.
 */
import * as z from "zod/mini";
import { config } from "../config.ts";
import { SkillNotConfiguredError } from "./errors.ts";
import { ensureOk, send } from "./outbound.ts";
import { defineSkill, defineSpec } from "./types.ts";

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

export const slackSend = /* @__PURE__ */ defineSkill(slackSendSpec, {
  async run(args, ctx) {
    // A URL from the request is checked against the SSRF rules; the configured one is trusted.
    const url = args.webhook_url ?? config().skills.slack.webhookUrl;
    if (!url) throw new SkillNotConfiguredError("slack_send", "SLACK_WEBHOOK_URL");
    const body = JSON.stringify({ text: args.text, ...(args.blocks ? { blocks: args.blocks } : {}) });
    // One request, retried by the policy: a 429's Retry-After is what Slack asks us to wait.
    const res = await ctx.retry(0, async () =>
      ensureOk(
        await send({
          target: "slack",
          url,
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          ...(args.webhook_url ? { guard: { field: `${ctx.argsField}.webhook_url` } } : {}),
          signal: ctx.signal,
        }),
        "slack",
      ),
    );
    return { ok: true as const, status: res.status };
  },
});
