/** Cost simulation (core/costsim): V1 simulate, the V2 sandbox and its shadow queue, the divergence report, reference datasets. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const costsim: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("costsim", [
    ["POST /api/v1/costsim/simulate", "simulate", "agent", "What a plan (a workflow by name or inline steps, or a job spawn body) would cost, take and risk under V1; executes nothing (V2 compared in the shadow when COSTSIM_V2_SANDBOX is on)"],
    ["POST /api/v1/costsim/v2/simulate", "v2-simulate", "operator", "V2 alone on a plan: calibrated from the tenant's history, with confidence and fallbacks to V1's priors"],
    ["GET /api/v1/costsim/v2/status", "v2-status", "viewer", "The V2 sandbox: on or off, versions, thresholds, breaker, provenance counts by verdict, accuracy against actuals and whether V2 may be promoted"],
    ["POST /api/v1/costsim/v2/reset", "v2-reset", "admin", "Re-enable V2 now: the drift breaker closed with a reason, its open incidents ended and their alerts resolved", { links: ["AlertDeliveryQueue"] }],
    ["GET /api/v1/costsim/v2/incidents", "v2-incidents", "viewer", "The drift breaker's incidents (one breaker for every tenant): trigger, reason, figures, until when, how each ended"],
    ["POST /api/v1/costsim/canary/run", "canary-run", "admin", "Run the canary now (V2 on the reference datasets; V1 and V2 run again on the newest recorded shadow inputs); its report in the reply; a failure disables V2; 409 while another run holds the leadership", { links: ["AlertDeliveryQueue"] }],
    ["GET /api/v1/costsim/canary/reports", "canary-reports", "viewer", "Canary reports, newest first"],
    ["GET /api/v1/costsim/canary/reports/{id}", "canary-report", "viewer", "One canary report: each dataset's checks and misses, the replay's KL divergence, drift and V2 errors"],
    ["GET /api/v1/costsim/divergence", "divergence", "viewer", "The divergence report of V1 and V2 over the tenant's provenance (since, until, skill; tenant_id for an admin); insufficient_data below min_samples"],
    ["GET /api/v1/costsim/datasets", "datasets-list", "viewer", "The five reference datasets (names, versions, sample counts, thresholds)"],
    ["GET /api/v1/costsim/datasets/{id}", "datasets-get", "viewer", "A reference dataset with its samples"],
    ["POST /api/v1/costsim/datasets/{id}/validate", "datasets-validate", "agent", "Validate V1, V2 or both against a reference dataset: error figures, KL, pass or fail against its thresholds"],
    ["POST /api/v1/costsim/datasets/validate-all", "datasets-validate-all", "agent", "Validate V1, V2 or both against every reference dataset"],
  ]),
  queues: [
    {
      // One shadow comparison per message: V2 on the plan with the tenant's history, recorded.
      name: "CostsimShadow",
      handler: "functions/queue/costsim-shadow.handler",
      batchSize: 10,
      batchWindowS: 1,
      visibilityTimeoutS: 60,
      maxReceiveCount: 5,
      timeoutS: 30,
      links: ["CostsimShadowQueue", "AlertDeliveryQueue"],
    },
    {
      // One drift breaker alert per message, POSTed to every Alertmanager of ALERTMANAGER_URL; a
      // refused send is retried as a delayed message (backoff with jitter); the row is the truth.
      name: "AlertDelivery",
      handler: "functions/queue/costsim-alerts.handler",
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 120,
      maxReceiveCount: 10,
      timeoutS: 60,
      links: ["AlertDeliveryQueue"],
    },
  ],
  schedules: [
    {
      // Sends the shadow requests V1 simulates stored in the Redis stream costsim:shadow to the
      // CostsimShadow queue (the request path never calls SQS), at most 5,000 a run, oldest first.
      name: "CostsimShadowRelay",
      schedule: "rate(1 minute)",
      handler: "functions/cron/costsim-shadow-relay.handler",
      timeoutS: 60,
      links: ["CostsimShadowQueue"],
    },
    {
      // The drift breaker's minute: its evaluation (when no shadow worker made it), its recovery
      // after the TTL (one worker, only after a passing canary), the alerts re-asserted and
      // re-driven, the gauges.
      name: "CostsimSafety",
      schedule: "rate(1 minute)",
      handler: "functions/cron/costsim-safety.handler",
      timeoutS: 60,
      links: ["AlertDeliveryQueue"],
    },
    {
      // The daily canary; one run at a time (a lease row), a failure disables V2.
      name: "CostsimCanary",
      schedule: "cron(17 3 * * ? *)",
      handler: "functions/cron/costsim-canary.handler",
      timeoutS: 300,
      links: ["AlertDeliveryQueue"],
    },
  ],
};
