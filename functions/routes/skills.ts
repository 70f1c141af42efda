/** Skills (core/skills): the catalogue, execution, circuit breakers and webhook signing. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

// API Gateway cuts a request at 30 s; a skill's own deadline is 25 s.
const EXECUTE = {
  links: ["SlackWebhookUrl", "WebhookSigningSecret", "VoyageApiKey", "FailureRecordsQueue"],
  timeoutS: 29,
} as const;

export const skills: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("skills", [
    ["GET /api/v1/skills", "list", "viewer", "Every skill, with the JSON Schemas of its input and output, flags and cost model"],
    ["GET /api/v1/skills/{name}", "get", "viewer", "One skill's description"],
    ["POST /api/v1/skills/{name}/execute", "execute", "agent", "Run a skill (idempotent with idempotency_key; external calls go through shared circuit breakers)", EXECUTE],
    ["GET /api/v1/breakers", "breakers/list", "viewer", "Circuit breakers: the shared ones and the tenant's own, with state and cooldown"],
    ["POST /api/v1/breakers/{target}/reset", "breakers/reset", "operator", "Close a circuit breaker now, forgetting its failures (recorded in status history): an operator its own tenant's, an admin any, the shared ones included"],
    ["GET /api/v1/webhooks/signing_secret", "webhooks/signing-secret", "operator", "The tenant's secret for verifying webhook_send signatures (X-AOS-Signature)", { links: ["WebhookSigningSecret"] }],
  ]),
  schedules: [
    {
      name: "SkillIdempotencySweep",
      schedule: "rate(1 hour)",
      handler: "functions/cron/skill-idempotency-sweep.handler",
      timeoutS: 120,
    },
  ],
};
