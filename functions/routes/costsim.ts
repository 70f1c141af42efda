/** Cost simulation (core/costsim): V1 simulate, the V2 sandbox and its shadow queue, the divergence report, reference datasets. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const costsim: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("costsim", [
    ["POST /api/v1/costsim/simulate", "simulate", "agent", "What a plan (a workflow by name or inline steps, or a job spawn body) would cost, take and risk under V1; executes nothing (V2 compared in the shadow when COSTSIM_V2_SANDBOX is on)"],
    ["POST /api/v1/costsim/v2/simulate", "v2-simulate", "operator", "V2 alone on a plan: calibrated from the tenant's history, with confidence and fallbacks to V1's priors"],
    ["GET /api/v1/costsim/v2/status", "v2-status", "viewer", "The V2 sandbox: on or off, versions, thresholds, breaker, provenance counts by verdict, accuracy against actuals and whether V2 may be promoted"],
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
      links: ["CostsimShadowQueue"],
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
  ],
};
