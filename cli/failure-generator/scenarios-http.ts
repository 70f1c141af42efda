/**
 * Scenarios of the skills that call out (webhook_send, slack_send, voyage_embed) against the
 * generator's loopback servers: statuses, hangs, resets, refused connections, DNS and TLS
 * failures, Slack's and Voyage's error bodies, the SSRF guard, missing secrets. Every call goes
 * through Skills.execute, which records the failures of its runs itself.
 *
 * Voyage's breaker is global (every tenant's): its retryable failures here are each followed by
 * a refusal, which counts as an answer and resets the breaker's consecutive failures, so the
 * generator never brings it near its threshold for real traffic.
 */
import { callSkill, pick, type Scenario, type ScenarioRun } from "./scenario.ts";
import type { GeneratorServers } from "./servers.ts";

const hook = (x: ScenarioRun, path: string, extra: Record<string, unknown> = {}) =>
  callSkill(x, "webhook_send", { url: `${x.servers.http}${path}`, payload: { n: x.n }, ...extra }, true);

const slackAt = (x: ScenarioRun, path: string) =>
  callSkill(x, "slack_send", { text: `generated failure ${x.n}`, webhook_url: `${x.servers.http}${path}` }, true);

const voyage = (x: ScenarioRun) =>
  callSkill(x, "voyage_embed", { input: [`text ${x.n}`, "another text"], input_type: "document" }, true);

const voyageAt = (mode: string) => (s: GeneratorServers) => ({ VOYAGE_BASE_URL: `${s.http}/voyage/${mode}` });

const status = (name: string, label: string, codes: readonly number[], bodies: readonly string[]): Scenario => ({
  name,
  label,
  run: (x) => hook(x, `/status/${pick(codes, x.n)}/${pick(bodies, x.n)}`),
});

export const httpScenarios: readonly Scenario[] = [
  // ---- webhook_send: statuses ----
  status("webhook.http_408", "upstream.request_timeout", [408], ["empty", "plain"]),
  status("webhook.http_429", "upstream.rate_limited", [429], ["empty", "plain"]),
  status("webhook.http_5xx", "upstream.server_error", [500, 502, 504], ["empty", "plain", "html"]),
  status("webhook.http_503", "upstream.unavailable", [503], ["empty", "html"]),
  status("webhook.http_4xx", "upstream.rejected", [400, 404, 409, 422], ["empty", "plain"]),
  status("webhook.http_auth", "upstream.auth_rejected", [401, 403], ["empty", "plain"]),
  status("webhook.redirect", "upstream.redirect_refused", [301, 302, 307, 308], ["empty"]),
  // ---- webhook_send: the network ----
  {
    name: "webhook.hang",
    label: "upstream.timeout",
    // Only here is the request timeout short: every other scenario's answer must arrive, however
    // loaded the machine (a slow answer turned timeout would be a wrong label, not a wrong match).
    env: () => ({ SKILL_HTTP_TIMEOUT_MS: "150" }),
    run: (x) => hook(x, "/hang"),
  },
  {
    // The whole call's deadline is shorter than one attempt's timeout: the skill's deadline fires.
    name: "webhook.deadline",
    label: "capacity.skill_deadline",
    run: (x) => callSkill(x, "webhook_send", { url: `${x.servers.http}/hang`, payload: null }, true, { timeoutMs: 60 }),
  },
  { name: "webhook.reset", label: "upstream.connection_refused", run: (x) => hook(x, "/reset") },
  {
    name: "webhook.refused",
    label: "upstream.connection_refused",
    run: (x) =>
      callSkill(x, "webhook_send", { url: `http://127.0.0.1:${x.servers.closedPort}/in`, payload: x.n }, true),
  },
  {
    // RFC 2606: `.invalid` never resolves.
    name: "webhook.dns",
    label: "network.dns_not_found",
    run: (x) => callSkill(x, "webhook_send", { url: `http://aos-gen-${x.n}.hooks.invalid/in`, payload: x.n }, true),
  },
  {
    // https:// to the plain HTTP port: the reply is not a TLS handshake.
    name: "webhook.tls",
    label: "network.tls_error",
    run: (x) => hook(x, "/status/200/empty", { url: `${x.servers.http.replace("http:", "https:")}/tls` }),
  },
  { name: "webhook.too_large", label: "upstream.response_too_large", run: (x) => hook(x, "/big") },
  // ---- webhook_send: refused before anything is sent ----
  {
    name: "webhook.ssrf",
    label: "validation.url_blocked",
    run: (x) =>
      callSkill(
        x,
        "webhook_send",
        {
          url: pick(
            [
              "http://169.254.169.254/latest/meta-data/",
              "http://10.1.2.3/hook",
              // Not the closed port: the generator allows that one (webhook.refused).
              "http://127.0.0.1:1/x",
              "http://[::1]:8080/x",
            ],
            x.n,
          ),
          payload: null,
        },
        true,
      ),
  },
  {
    name: "webhook.reserved_header",
    label: "validation.invalid_input",
    run: (x) =>
      hook(x, "/status/200/empty", { headers: { [pick(["Host", "X-AOS-Signature", "Connection"], x.n)]: "x" } }),
  },
  {
    name: "webhook.no_signing_secret",
    label: "config.skill_not_configured",
    env: () => ({ WEBHOOK_SIGNING_SECRET: undefined }),
    run: (x) => hook(x, "/status/200/empty"),
  },
  // ---- slack_send: Slack's plain-word bodies ----
  {
    name: "slack.revoked",
    label: "slack.webhook_revoked",
    run: (x) =>
      slackAt(x, pick(["/status/403/invalid_token", "/status/404/no_service", "/status/403/team_disabled"], x.n)),
  },
  {
    name: "slack.channel",
    label: "slack.channel_unavailable",
    run: (x) => slackAt(x, pick(["/status/404/channel_not_found", "/status/410/channel_is_archived"], x.n)),
  },
  {
    name: "slack.payload",
    label: "slack.invalid_payload",
    run: (x) =>
      slackAt(x, pick(["/status/400/invalid_payload", "/status/400/no_text", "/status/400/invalid_blocks"], x.n)),
  },
  { name: "slack.http_429", label: "slack.rate_limited", run: (x) => slackAt(x, "/status/429/rate_limited") },
  {
    name: "slack.http_5xx",
    label: "upstream.server_error",
    run: (x) => slackAt(x, pick(["/status/500/html", "/status/502/empty"], x.n)),
  },
  {
    name: "slack.not_configured",
    label: "config.skill_not_configured",
    env: () => ({ SLACK_WEBHOOK_URL: undefined }),
    run: (x) => callSkill(x, "slack_send", { text: "hello" }, true),
  },
  // ---- voyage_embed: Voyage's JSON bodies (a refusal after each retryable failure: see above) ----
  { name: "voyage.http_429", label: "voyage.rate_limited", env: voyageAt("429"), run: voyage },
  { name: "voyage.bad_key", label: "voyage.invalid_key", env: voyageAt("401"), run: voyage },
  { name: "voyage.http_5xx", label: "upstream.server_error", env: voyageAt("500"), run: voyage },
  { name: "voyage.bad_request", label: "voyage.bad_request", env: voyageAt("400"), run: voyage },
  { name: "voyage.garbage", label: "upstream.invalid_response", env: voyageAt("garbage"), run: voyage },
  {
    name: "voyage.not_configured",
    label: "config.skill_not_configured",
    env: () => ({ VOYAGE_API_KEY: undefined }),
    run: voyage,
  },
];
