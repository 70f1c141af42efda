/** Platform routes: liveness, this API's description and the merged metrics. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const platform: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("platform", [
    ["GET /health", "health/get", "public", "Liveness of Postgres, Redis, S3 and SQS", { links: ["Exports", "EventsQueue"] }],
    ["GET /openapi.json", "openapi/get", "public", "This API's OpenAPI description"],
    ["GET /metrics", "metrics/get", "admin", "Prometheus metrics merged across every instance"],
  ]),
};
