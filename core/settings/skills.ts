/** Settings of skills (core/skills): circuit breakers, retries, outbound HTTP, idempotency, kv_store, credentials. */
import { declareSettings, int, list, text, url } from "./declare.ts";

// biome-ignore format: one line per setting
export const skills = declareSettings("skills", {
  skills: {
    breaker: {
      failureThreshold: int("SKILL_BREAKER_FAILURE_THRESHOLD", 5, "consecutive failures of a target (network, timeout, 5xx, 429 after retries) that open its circuit breaker", { min: 1 }),
      cooldownS: int("SKILL_BREAKER_COOLDOWN_S", 60, "seconds an open breaker refuses calls before it lets one probe through", { min: 1 }),
    },
    retry: {
      maxAttempts: int("SKILL_RETRY_MAX_ATTEMPTS", 3, "attempts of one external request (the first included) when it fails retryably", { min: 1 }),
      baseMs: int("SKILL_RETRY_BASE_MS", 200, "first backoff; doubles per attempt, with jitter seeded by (run, op, step, attempt)"),
      maxMs: int("SKILL_RETRY_MAX_MS", 5000, "backoff cap"),
      /** A Retry-After longer than this is not waited for: the call fails, retryable, with it. */
      retryAfterMaxS: int("SKILL_RETRY_AFTER_MAX_S", 30, "longest Retry-After a skill waits for; above it the call fails (retryable, with the Retry-After)"),
    },
    http: {
      timeoutMs: int("SKILL_HTTP_TIMEOUT_MS", 10_000, "per-attempt time limit of an outbound request (connect and whole response)", { min: 1 }),
      maxResponseBytes: int("SKILL_HTTP_MAX_RESPONSE_BYTES", 1_048_576, "largest response an outbound request reads (Slack, webhooks)", { min: 1 }),
      /** Hosts (`host` or `host:port`, lower case) exempt from the SSRF guard of request-supplied URLs. */
      allowHosts: list("SKILL_OUTBOUND_ALLOW_HOSTS", "`host` or `host:port` that request-supplied URLs may reach although they resolve to private addresses (tests: `127.0.0.1`)"),
    },
    idempotencyTtlH: int("SKILL_IDEMPOTENCY_TTL_H", 24, "hours an idempotency key and its stored result are kept, a skill call's and an `Idempotency-Key` header's alike (the hourly `SkillIdempotencySweep` cron deletes older ones)", { min: 1 }),
    kv: {
      maxValueBytes: int("SKILL_KV_MAX_VALUE_BYTES", 65_536, "largest kv_store value, as JSON", { min: 1 }),
      maxTtlS: int("SKILL_KV_MAX_TTL_S", 2_592_000, "longest kv_store TTL (30 days)", { min: 1 }),
    },
    slack: {
      webhookUrl: url("SLACK_WEBHOOK_URL", undefined, "default incoming webhook of slack_send", { secret: "SlackWebhookUrl" }),
    },
    webhook: {
      signingSecret: text("WEBHOOK_SIGNING_SECRET", undefined, "master secret from which each tenant's webhook signing secret is derived", { minLength: 32, secret: "WebhookSigningSecret" }),
    },
    voyage: {
      apiKey: text("VOYAGE_API_KEY", undefined, "Voyage AI API key of voyage_embed", { secret: "VoyageApiKey" }),
      baseUrl: url("VOYAGE_BASE_URL", "https://api.voyageai.com", "Voyage API base URL (trailing slashes dropped)", { trimSlash: true }),
      maxBatch: int("VOYAGE_MAX_BATCH", 1000, "inputs per embeddings request (the API's list limit)", { min: 1 }),
      maxResponseBytes: int("VOYAGE_MAX_RESPONSE_BYTES", 67_108_864, "largest embeddings response read", { min: 1 }),
    },
  },
});
