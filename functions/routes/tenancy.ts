/** Tenancy (core/tenancy): tenants, API keys, their events queue and the key usage flush. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const tenancy: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("tenancy", [
    ["POST /api/v1/tenants", "tenants/create", "admin", "Create a tenant and, unless told not to, its first operator key (shown once)", { links: ["EventsQueue"] }],
    ["GET /api/v1/tenants", "tenants/list", "admin", "List tenants"],
    ["POST /api/v1/keys", "keys/create", "operator", "Create an API key; the key is shown once", { links: ["EventsQueue"] }],
    ["GET /api/v1/keys", "keys/list", "operator", "List API keys of the caller's role and below (never the keys themselves; an operator never sees admin keys)"],
    ["DELETE /api/v1/keys/{id}", "keys/revoke", "operator", "Revoke an API key of the caller's role or below (a key above it answers 404, as another tenant's does)", { links: ["EventsQueue"] }],
  ]),
  queues: [
    {
      name: "Events",
      handler: "functions/queue/events.handler",
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 60,
      maxReceiveCount: 5,
      timeoutS: 30,
      // Its permanent failures go to the failure catalog (through this queue when Postgres is slow).
      links: ["FailureRecordsQueue"],
    },
  ],
  schedules: [
    {
      name: "KeyUsageFlush",
      schedule: "rate(1 minute)",
      handler: "functions/cron/key-usage-flush.handler",
      timeoutS: 60,
    },
  ],
};
