/**
 * The vocabulary of the route declarations (functions/routes/<domain>.ts) and the one helper that
 * turns a route line into an `HttpRoute`. Plain data: this folder imports nothing outside itself,
 * so stacks/ can read it (dependency-cruiser rule `routes-are-data`).
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
  | "FailureRecordsQueue"
  | "WorkflowStepsQueue"
  | "WorkflowReplaysQueue"
  | "CostsimShadowQueue"
  | "AlertDeliveryQueue"
  | "SlackWebhookUrl"
  | "WebhookSigningSecret"
  | "VoyageApiKey";

export interface HttpRoute {
  method: HttpMethod;
  /** API Gateway syntax: `/api/v1/keys/{id}`. */
  path: string;
  /** `functions/http/keys/revoke.handler`: file path from the repository root, then the export. */
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

/** What one domain serves: its HTTP routes, the queues it consumes and its schedules. */
export interface DomainRoutes {
  routes: readonly HttpRoute[];
  queues?: readonly QueueConsumer[];
  schedules?: readonly Schedule[];
}

/**
 * One HTTP route on one line: `[method and path, handler, role, summary, options?]`.
 * The handler is `<action>` (the export `handler` of `functions/http/<dir>/<action>.ts`, `dir`
 * being the group's) or `<dir>/<action>` for a file of another folder.
 */
export type RouteLine = readonly [
  route: `${HttpMethod} /${string}`,
  handler: string,
  role: RouteRole,
  summary: string,
  options?: Pick<HttpRoute, "links" | "timeoutS" | "memoryMb">,
];

/**
 * The routes of one OpenAPI tag.
 *
 * @example
 *   httpRoutes("jobs", [["GET /api/v1/jobs/{id}", "get", "viewer", "A job"]])
 *   // -> [{ method: "GET", path: "/api/v1/jobs/{id}", handler: "functions/http/jobs/get.handler", ... }]
 */
export function httpRoutes(tag: string, lines: readonly RouteLine[], dir = tag.replaceAll("_", "-")): HttpRoute[] {
  return lines.map(([route, action, role, summary, options]) => {
    const space = route.indexOf(" ");
    const file = action.includes("/") ? action : `${dir}/${action}`;
    return {
      method: route.slice(0, space) as HttpMethod,
      path: route.slice(space + 1),
      handler: `functions/http/${file}.handler`,
      role,
      summary,
      tag,
      ...options,
    };
  });
}
