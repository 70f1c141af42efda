/**
 * THE route table: every HTTP route, queue consumer and schedule of AOS, as plain data, composed
 * from one declaration per domain (functions/routes/<domain>.ts, one line per route).
 *
 * Read by `stacks/` (to build API Gateway routes, queues and crons), by the local runtime (to
 * serve and poll the very same handlers), by `httpHandler` (to find the role a route requires)
 * and by the OpenAPI generator. Imports nothing but its own folder.
 *
 * `handler` is a file path relative to the repository root with the exported function after the
 * dot, as SST names handlers. `links` lists the SST resources a function may touch beyond the
 * database and Redis secrets every function gets: least privilege is decided there.
 */
import { agents } from "./routes/agents.ts";
import { costsim } from "./routes/costsim.ts";
import { credits } from "./routes/credits.ts";
import type { DomainRoutes, HttpRoute, QueueConsumer, Schedule } from "./routes/declare.ts";
import { failures } from "./routes/failures.ts";
import { jobs } from "./routes/jobs.ts";
import { platform } from "./routes/platform.ts";
import { skills } from "./routes/skills.ts";
import { statusHistory } from "./routes/status-history.ts";
import { tenancy } from "./routes/tenancy.ts";
import { workflows } from "./routes/workflows.ts";

export type {
  DomainRoutes,
  HttpMethod,
  HttpRoute,
  LinkName,
  QueueConsumer,
  RouteRole,
  Schedule,
} from "./routes/declare.ts";

/** In this order in the OpenAPI document. A new domain adds its file here. */
export const domains: readonly DomainRoutes[] = [
  platform,
  tenancy,
  statusHistory,
  skills,
  jobs,
  credits,
  failures,
  workflows,
  agents,
  costsim,
];

export const routes: readonly HttpRoute[] = domains.flatMap((d) => d.routes);
export const queues: readonly QueueConsumer[] = domains.flatMap((d) => d.queues ?? []);
export const schedules: readonly Schedule[] = domains.flatMap((d) => d.schedules ?? []);

/**
 * CORS of the HTTP API: API Gateway answers preflights with this (stacks/api.ts), so does
 * `npm start`, and httpHandler adds the same headers to replies. Any origin: keys travel in the
 * Authorization header, never in cookies, so a foreign page cannot borrow a user's credentials.
 */
export const cors = {
  allowOrigins: ["*"],
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["authorization", "content-type", "x-correlation-id", "x-aos-agent-id"],
  exposeHeaders: ["x-request-id", "retry-after", "location", "idempotent-replayed"],
  maxAgeS: 86_400,
} as const;

/**
 * API Gateway's `$default` route: the function answering every request no route of its method
 * matches (405 with Allow, or 404, in the envelope; functions/http/fallback.ts). Not in the
 * OpenAPI document: it has no path of its own.
 */
export const fallback = { handler: "functions/http/fallback.handler", memoryMb: 256 } as const;

/** Timeout and memory of an HTTP function whose entry names none (read by stacks/ and local/). */
export const DEFAULT_TIMEOUT_S = 10;
export const DEFAULT_MEMORY_MB = 512;

/** `GET /api/v1/keys/{id}` as API Gateway writes it in `routeKey`. */
export const routeKey = (r: Pick<HttpRoute, "method" | "path">): string => `${r.method} ${r.path}`;

/** `functions/http/keys/revoke.handler` -> `functions/http/keys/revoke.ts` */
export const handlerFile = (handler: string): string => `${handler.slice(0, handler.lastIndexOf("."))}.ts`;
