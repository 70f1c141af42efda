/** Failure catalog entries: What AOS stands on (Postgres, Redis, S3, SQS), its breakers and skill configuration. */
import type { CatalogEntry } from "../entry.ts";

const PG_DOWN = ["57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"];

export const infrastructureEntries: readonly CatalogEntry[] = [
  // ---- infrastructure AOS stands on ----
  {
    id: "infra.postgres_unavailable",
    title: "Postgres unreachable, restarting or dropped the connection",
    category: "network",
    severity: "critical",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "Check the database answers (`psql $DATABASE_URL -c 'select 1'`); Neon: the project's status and compute; runbook docs/runbooks/failure-catalog.md.",
    backoff: { baseMs: 1000, maxMs: 10_000, maxAttempts: 3 },
    match: {
      codes: ["db.unavailable", "db.shutdown", "db.cannot_connect_now"],
      causeCodes: PG_DOWN,
      messagePatterns: [
        "connection terminated",
        "terminating connection due to administrator command",
        "the database system is (starting up|shutting down)",
        "timeout exceeded when trying to connect",
      ],
    },
    examples: [
      "The database cannot be reached or dropped the connection; retry",
      "Connection terminated unexpectedly",
      "The database is starting",
    ],
  },
  {
    id: "infra.redis_unavailable",
    title: "Redis unreachable or too slow",
    category: "network",
    severity: "high",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "Check Redis answers (`redis-cli -u $REDIS_URL ping`); kv_store and metrics need it, caches fall back to Postgres.",
    match: {
      codes: ["skills.kv_unavailable", "metrics.redis_unavailable", "blackboard.unavailable"],
      messagePatterns: [
        "redis.*(unavailable|timed out|timeout|connection|refused|closed)",
        "key-value store is unavailable",
      ],
    },
    examples: [
      "The key-value store is unavailable; retry later",
      "Metrics store (Redis) is unavailable",
      "redis command timed out",
    ],
  },
  {
    id: "infra.s3_unavailable",
    title: "S3 unreachable or failing",
    category: "network",
    severity: "high",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion: "Check the bucket answers (`aws s3 ls s3://$EXPORTS_BUCKET`) and the AWS status page.",
    match: { codes: ["s3.unavailable"], messagePatterns: ["^s3 .* during"] },
    examples: ["S3 timeout during PutObject"],
  },
  {
    id: "infra.failure_aggregation_failed",
    title: "The daily failure aggregation could not write some tenants' objects",
    category: "upstream",
    severity: "medium",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "Check S3 and Postgres answer, then run the FailureAggregation cron again for the day it names (docs/runbooks/failure-catalog.md); a rerun rewrites the same keys.",
    match: { codes: ["failures.aggregation_failed"] },
    examples: ["Failure aggregation of <n>-<n>-<n>: <n> tenant(s) not written"],
  },
  {
    id: "config.s3_no_bucket",
    title: "S3 bucket missing",
    category: "config",
    severity: "critical",
    is_retryable: false,
    recovery_mode: "fix_config",
    recovery_suggestion:
      "The bucket named by EXPORTS_BUCKET (the Exports link) does not exist: deploy the stack or fix the name.",
    match: { codes: ["s3.no_such_bucket"], causeCodes: ["NoSuchBucket"] },
    examples: ["S3 bucket <s> does not exist"],
  },
  {
    id: "infra.sqs_unavailable",
    title: "SQS refused or could not be reached",
    category: "network",
    severity: "high",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "Check the queue exists and the function is linked to it; the outbox sweeper re-sends what was not accepted.",
    match: { codes: ["queue.unavailable", "queue.unknown"], messagePatterns: ["could not send to queue"] },
    examples: ["Could not send to queue <s>: no message was accepted"],
  },
  {
    id: "internal.storage_error",
    title: "Unexpected S3 error",
    category: "internal",
    severity: "high",
    is_retryable: false,
    recovery_mode: "escalate",
    recovery_suggestion:
      "An S3 error AOS does not classify, or an upload's source stream failed: read the log line of the request id.",
    match: { codes: ["s3.error", "storage.source_failed"] },
    examples: ["Internal error"],
  },
  {
    id: "internal.platform_misuse",
    title: "A platform call made with impossible arguments",
    category: "internal",
    severity: "high",
    is_retryable: false,
    recovery_mode: "escalate",
    recovery_suggestion:
      "A bug in AOS's own code (queue or storage options out of range): file it with the stack trace.",
    match: {
      codes: [
        "queue.invalid_attempts",
        "queue.invalid_dedupe_ids",
        "queue.invalid_delay",
        "queue.message_rejected",
        "storage.invalid_concurrency",
        "storage.invalid_part_size",
        "storage.invalid_ttl",
        "storage.too_many_parts",
      ],
    },
    examples: ["delayS must be an integer from 0 to 900", "maxAttempts must be a positive integer"],
  },
  {
    id: "internal.unexpected",
    title: "Unexpected internal error",
    category: "internal",
    severity: "high",
    is_retryable: false,
    recovery_mode: "escalate",
    recovery_suggestion:
      "A bug: find the log line by request id (`requestId` in the reply) and file it with the stack.",
    match: { codes: ["internal"], kinds: ["internal"], causeCodes: ["TypeError", "RangeError", "ReferenceError"] },
    examples: [
      "Internal error",
      "cannot read properties of undefined (reading <s>)",
      "<s> returned a result its output schema refuses",
    ],
  },
  // ---- breakers and configuration of skills ----
  {
    id: "breaker.open",
    title: "Circuit breaker open",
    category: "upstream",
    severity: "medium",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "The target failed repeatedly; calls resume after the cooldown (Retry-After). `GET /api/v1/breakers` shows why.",
    match: { codes: ["breaker.open", "skills.circuit_open"], messagePatterns: ["circuit breaker .* is open"] },
    examples: ["The circuit breaker of slack is open: calls are refused until it cools down"],
  },
  {
    id: "config.skill_not_configured",
    title: "Skill missing its secret",
    category: "config",
    severity: "high",
    is_retryable: false,
    recovery_mode: "fix_config",
    recovery_suggestion:
      "Set the secret named in the message (SLACK_WEBHOOK_URL, VOYAGE_API_KEY, WEBHOOK_SIGNING_SECRET; docs/runbooks/secrets-rotation.md).",
    match: { codes: ["skills.not_configured"], messagePatterns: ["is not configured: .* is not set"] },
    examples: ["voyage_embed is not configured: VOYAGE_API_KEY is not set"],
  },
];
