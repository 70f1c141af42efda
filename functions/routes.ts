/**
 * THE route table: every HTTP route, queue consumer and schedule of AOS, as plain data.
 *
 * Read by `stacks/` (to build API Gateway routes, queues and crons), by the local runtime (to
 * serve and poll the very same handlers), by `httpHandler` (to find the role a route requires)
 * and by the OpenAPI generator. Imports nothing.
 *
 * `handler` is a file path relative to the repository root with the exported function after the
 * dot, as SST names handlers. `links` lists the SST resources a function may touch beyond the
 * database and Redis secrets every function gets: least privilege is decided here.
 */

/** `public` routes need no key; the others need a key of at least that role (admin > operator > agent > viewer). */
export type RouteRole = "public" | "admin" | "operator" | "agent" | "viewer";
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/** SST resources a function can be linked to (see stacks/). */
export type LinkName =
  | "Exports"
  | "EventsQueue"
  | "StatusHistoryExportsQueue"
  | "JobItemsQueue"
  | "SlackWebhookUrl"
  | "WebhookSigningSecret"
  | "VoyageApiKey";

export interface HttpRoute {
  method: HttpMethod;
  /** API Gateway syntax: `/api/v1/keys/{id}`. */
  path: string;
  handler: string;
  role: RouteRole;
  summary: string;
  tag: string;
  links?: readonly LinkName[];
  timeoutS?: number;
  memoryMb?: number;
}

export interface QueueConsumer {
  /** Queue name; SST resource `<name>Queue`, config key `QUEUE_URLS.<name>`. */
  name: string;
  handler: string;
  batchSize: number;
  /** Seconds SQS waits to gather a batch (0 = deliver at once). */
  batchWindowS: number;
  /** Must exceed the handler's timeout so a record is not redelivered while still running. */
  visibilityTimeoutS: number;
  /** Receives before a message moves to the queue's DLQ. */
  maxReceiveCount: number;
  timeoutS: number;
  /** Default DEFAULT_MEMORY_MB; Lambda's CPU share grows with it (1769 MB = one vCPU). */
  memoryMb?: number;
  links?: readonly LinkName[];
}

export interface Schedule {
  name: string;
  /** EventBridge syntax: `rate(1 minute)` or `cron(0 3 * * ? *)`. */
  schedule: string;
  handler: string;
  timeoutS: number;
  links?: readonly LinkName[];
}

export const routes: readonly HttpRoute[] = [
  {
    method: "GET",
    path: "/health",
    handler: "functions/http/health/get.handler",
    role: "public",
    tag: "platform",
    summary: "Liveness of Postgres, Redis, S3 and SQS",
    links: ["Exports", "EventsQueue"],
  },
  {
    method: "GET",
    path: "/openapi.json",
    handler: "functions/http/openapi/get.handler",
    role: "public",
    tag: "platform",
    summary: "This API's OpenAPI description",
  },
  {
    method: "GET",
    path: "/metrics",
    handler: "functions/http/metrics/get.handler",
    role: "admin",
    tag: "platform",
    summary: "Prometheus metrics merged across every instance",
  },
  {
    method: "POST",
    path: "/api/v1/tenants",
    handler: "functions/http/tenants/create.handler",
    role: "admin",
    tag: "tenancy",
    summary: "Create a tenant and, unless told not to, its first operator key (shown once)",
    links: ["EventsQueue"],
  },
  {
    method: "GET",
    path: "/api/v1/tenants",
    handler: "functions/http/tenants/list.handler",
    role: "admin",
    tag: "tenancy",
    summary: "List tenants",
  },
  {
    method: "POST",
    path: "/api/v1/keys",
    handler: "functions/http/keys/create.handler",
    role: "operator",
    tag: "tenancy",
    summary: "Create an API key; the key is shown once",
    links: ["EventsQueue"],
  },
  {
    method: "GET",
    path: "/api/v1/keys",
    handler: "functions/http/keys/list.handler",
    role: "operator",
    tag: "tenancy",
    summary: "List API keys (never the keys themselves)",
  },
  {
    method: "DELETE",
    path: "/api/v1/keys/{id}",
    handler: "functions/http/keys/revoke.handler",
    role: "operator",
    tag: "tenancy",
    summary: "Revoke an API key",
    links: ["EventsQueue"],
  },
  {
    method: "GET",
    path: "/api/v1/status_history",
    handler: "functions/http/status-history/list.handler",
    role: "viewer",
    tag: "status_history",
    summary: "Status changes of the tenant's entities, filtered, newest first (keyset pagination)",
  },
  {
    method: "GET",
    path: "/api/v1/status_history/entity/{type}/{id}",
    handler: "functions/http/status-history/entity.handler",
    role: "viewer",
    tag: "status_history",
    summary: "One entity's whole status history, oldest first",
  },
  {
    method: "GET",
    path: "/api/v1/status_history/stats",
    handler: "functions/http/status-history/stats.handler",
    role: "viewer",
    tag: "status_history",
    summary: "Counts by entity type and new status, and per hour, over a window",
  },
  {
    method: "POST",
    path: "/api/v1/status_history/export",
    handler: "functions/http/status-history/export-create.handler",
    role: "operator",
    tag: "status_history",
    summary: "Export status history to CSV or JSONL in S3; runs in the background (202)",
    links: ["StatusHistoryExportsQueue"],
  },
  {
    method: "GET",
    path: "/api/v1/status_history/exports/{id}",
    handler: "functions/http/status-history/export-get.handler",
    role: "viewer",
    tag: "status_history",
    summary: "An export's status, row count, size, SHA-256 and expiry",
  },
  {
    method: "GET",
    path: "/api/v1/status_history/download/{id}",
    handler: "functions/http/status-history/download.handler",
    role: "viewer",
    tag: "status_history",
    summary: "302 to a presigned S3 URL of a ready export (410 once it expired)",
    links: ["Exports"],
  },
  {
    method: "GET",
    path: "/api/v1/skills",
    handler: "functions/http/skills/list.handler",
    role: "viewer",
    tag: "skills",
    summary: "Every skill, with the JSON Schemas of its input and output, flags and cost model",
  },
  {
    method: "GET",
    path: "/api/v1/skills/{name}",
    handler: "functions/http/skills/get.handler",
    role: "viewer",
    tag: "skills",
    summary: "One skill's description",
  },
  {
    method: "POST",
    path: "/api/v1/skills/{name}/execute",
    handler: "functions/http/skills/execute.handler",
    role: "agent",
    tag: "skills",
    summary: "Run a skill (idempotent with idempotency_key; external calls go through shared circuit breakers)",
    links: ["SlackWebhookUrl", "WebhookSigningSecret", "VoyageApiKey"],
    // API Gateway cuts a request at 30 s; a skill's own deadline is 25 s.
    timeoutS: 29,
  },
  {
    method: "GET",
    path: "/api/v1/breakers",
    handler: "functions/http/breakers/list.handler",
    role: "viewer",
    tag: "skills",
    summary: "Circuit breakers: the shared ones and the tenant's own, with state and cooldown",
  },
  {
    method: "POST",
    path: "/api/v1/breakers/{target}/reset",
    handler: "functions/http/breakers/reset.handler",
    role: "admin",
    tag: "skills",
    summary: "Close a circuit breaker now, forgetting its failures (recorded in status history)",
  },
  {
    method: "GET",
    path: "/api/v1/webhooks/signing_secret",
    handler: "functions/http/webhooks/signing-secret.handler",
    role: "operator",
    tag: "skills",
    summary: "The tenant's secret for verifying webhook_send signatures (X-AOS-Signature)",
    links: ["WebhookSigningSecret"],
  },
  {
    method: "POST",
    path: "/api/v1/jobs",
    handler: "functions/http/jobs/create.handler",
    role: "agent",
    tag: "jobs",
    summary:
      "Spawn a job of N items: credits reserved, items fanned out over SQS (or claimed by agents when task is external)",
    links: ["JobItemsQueue"],
  },
  {
    method: "POST",
    path: "/api/v1/jobs/simulate",
    handler: "functions/http/jobs/simulate.handler",
    role: "agent",
    tag: "jobs",
    summary: "What a spawn would cost and take, with warnings and risks; executes nothing",
  },
  {
    method: "GET",
    path: "/api/v1/jobs",
    handler: "functions/http/jobs/list.handler",
    role: "viewer",
    tag: "jobs",
    summary: "The tenant's jobs, newest first (keyset pagination)",
  },
  {
    method: "GET",
    path: "/api/v1/jobs/{id}",
    handler: "functions/http/jobs/get.handler",
    role: "viewer",
    tag: "jobs",
    summary: "A job with its items counted by state and its credits reserved, charged, released and refunded",
  },
  {
    method: "GET",
    path: "/api/v1/jobs/{id}/items",
    handler: "functions/http/jobs/items.handler",
    role: "viewer",
    tag: "jobs",
    summary: "A job's items in order (keyset pagination)",
  },
  {
    method: "POST",
    path: "/api/v1/jobs/{id}/cancel",
    handler: "functions/http/jobs/cancel.handler",
    role: "agent",
    tag: "jobs",
    summary: "Cancel a job: unclaimed items cancelled and refunded; items in flight may finish",
  },
  {
    method: "POST",
    path: "/api/v1/jobs/{id}/claim",
    handler: "functions/http/jobs/claim.handler",
    role: "agent",
    tag: "jobs",
    summary: "Claim pending items of an external job with a lease (FOR UPDATE SKIP LOCKED)",
  },
  {
    method: "POST",
    path: "/api/v1/items/{id}/heartbeat",
    handler: "functions/http/items/heartbeat.handler",
    role: "agent",
    tag: "jobs",
    summary: "Extend the lease of an item this worker holds",
  },
  {
    method: "POST",
    path: "/api/v1/items/{id}/complete",
    handler: "functions/http/items/complete.handler",
    role: "agent",
    tag: "jobs",
    summary: "Complete an item this worker holds (charged); 409 once the lease is lost",
  },
  {
    method: "POST",
    path: "/api/v1/items/complete",
    handler: "functions/http/items/complete-many.handler",
    role: "agent",
    tag: "jobs",
    summary: "Complete up to 100 items this worker holds in one call (each charged once); the others refused per item",
  },
  {
    method: "POST",
    path: "/api/v1/items/{id}/fail",
    handler: "functions/http/items/fail.handler",
    role: "agent",
    tag: "jobs",
    summary: "Fail an item this worker holds: retried until max_attempts, then failed (released)",
    links: ["JobItemsQueue"],
  },
  {
    method: "POST",
    path: "/api/v1/credits/grants",
    handler: "functions/http/credits/grant.handler",
    role: "admin",
    tag: "credits",
    summary: "Grant credits to a tenant (its own when tenant_id is absent)",
  },
  {
    method: "GET",
    path: "/api/v1/credits",
    handler: "functions/http/credits/get.handler",
    role: "viewer",
    tag: "credits",
    summary: "The tenant's balance, reserved and available credits",
  },
  {
    method: "GET",
    path: "/api/v1/credits/ledger",
    handler: "functions/http/credits/ledger.handler",
    role: "viewer",
    tag: "credits",
    summary: "The tenant's credit ledger, newest first (keyset pagination)",
  },
];

export const queues: readonly QueueConsumer[] = [
  {
    name: "Events",
    handler: "functions/queue/events.handler",
    batchSize: 10,
    batchWindowS: 0,
    visibilityTimeoutS: 60,
    maxReceiveCount: 5,
    timeoutS: 30,
  },
  {
    // One export per batch: an export streams for minutes and owns the function's memory.
    name: "StatusHistoryExports",
    handler: "functions/queue/status-history-export.handler",
    batchSize: 1,
    batchWindowS: 0,
    visibilityTimeoutS: 960,
    // Above EXPORT_MAX_ATTEMPTS: a delivery that finds the export leased elsewhere uses a receive
    // without using an attempt, and the worker itself marks an export failed after its last one.
    maxReceiveCount: 10,
    timeoutS: 900,
    memoryMb: 1769,
    links: ["Exports"],
  },
  {
    // A batch's items run concurrently; each skill call has a 25 s deadline.
    name: "JobItems",
    handler: "functions/queue/job-items.handler",
    batchSize: 10,
    batchWindowS: 0,
    visibilityTimeoutS: 150,
    maxReceiveCount: 10,
    timeoutS: 120,
    links: ["JobItemsQueue", "SlackWebhookUrl", "WebhookSigningSecret", "VoyageApiKey"],
  },
];

export const schedules: readonly Schedule[] = [
  {
    name: "KeyUsageFlush",
    schedule: "rate(1 minute)",
    handler: "functions/cron/key-usage-flush.handler",
    timeoutS: 60,
  },
  {
    // Deletes the objects of exports past their TTL and marks them expired; re-sends exports
    // whose queue message was lost (the row is the truth, the message only a wake-up call).
    name: "StatusHistoryExportSweep",
    schedule: "rate(5 minutes)",
    handler: "functions/cron/status-history-export-sweep.handler",
    timeoutS: 120,
    links: ["Exports", "StatusHistoryExportsQueue"],
  },
  {
    name: "SkillIdempotencySweep",
    schedule: "rate(1 hour)",
    handler: "functions/cron/skill-idempotency-sweep.handler",
    timeoutS: 120,
  },
  {
    // Expired leases back to pending, lost fan-out messages re-sent, finished jobs settled.
    name: "JobSweep",
    schedule: "rate(1 minute)",
    handler: "functions/cron/job-sweep.handler",
    timeoutS: 60,
    links: ["JobItemsQueue"],
  },
];

/**
 * CORS of the HTTP API: API Gateway answers preflights with this (stacks/api.ts), so does
 * `npm start`, and httpHandler adds the same headers to replies. Any origin: keys travel in the
 * Authorization header, never in cookies, so a foreign page cannot borrow a user's credentials.
 */
export const cors = {
  allowOrigins: ["*"],
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["authorization", "content-type", "x-correlation-id"],
  exposeHeaders: ["x-request-id", "retry-after", "location"],
  maxAgeS: 86_400,
} as const;

/** Timeout and memory of an HTTP function whose entry names none (read by stacks/ and local/). */
export const DEFAULT_TIMEOUT_S = 10;
export const DEFAULT_MEMORY_MB = 512;

/** `GET /api/v1/keys/{id}` as API Gateway writes it in `routeKey`. */
export const routeKey = (r: Pick<HttpRoute, "method" | "path">): string => `${r.method} ${r.path}`;

/** `functions/http/keys/revoke.handler` -> `functions/http/keys/revoke.ts` */
export const handlerFile = (handler: string): string => `${handler.slice(0, handler.lastIndexOf("."))}.ts`;
