/**
 * slack_send: posts a message to a Slack incoming webhook (SLACK_WEBHOOK_URL, or the call's own
 * `webhook_url`, which is SSRF-guarded). Slack's 429 Retry-After is honoured by the retry policy.
 *
 * The webhook URL is a credential (whoever has it may post to the channel): it never appears in
 * an error message or a log line; errors name the target `slack` only.
 */
import { config } from "../config.ts";
import { SkillNotConfiguredError } from "./errors.ts";
import { ensureOk, send } from "./outbound.ts";
import type { slackSendSpec } from "./slack-send-spec.ts";
import type { SkillRun } from "./types.ts";

export const slackSend = {
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
} satisfies SkillRun<typeof slackSendSpec>;
