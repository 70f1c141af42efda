/**
 * `httpHandler`: the one middleware chain of every HTTP route, in a fixed order —
 * request context (request and correlation ids) -> auth (role from routes.ts) -> input that no
 * route accepts (JSON nested deeper than MAX_JSON_DEPTH, NUL or unpaired surrogates in any text:
 * request-input.ts) -> validation of path, query and body with zod (400 listing each bad field;
 * malformed JSON is a 400, not 415)
 * -> the handler -> reply shaping, CORS, error envelope, metrics and access log (also on error).
 *
 * @example
 *   export const handler = httpHandler({ body: KeyCreate }, async ({ body }) =>
 *     created(await Tenancy.createKey(body)));
 */
import { randomUUID } from "node:crypto";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { safeParse } from "zod/mini";
import type { $ZodType, output } from "zod/v4/core";
import { useContext, withContext } from "../../core/context.ts";
import type { FieldIssue } from "../../core/errors.ts";
import { settleBackground } from "../../core/platform/background.ts";
import { log } from "../../core/platform/logger.ts";
import { allowRoutes, flushMetrics, recordHttp } from "../../core/platform/metrics/index.ts";
import { cors, routeKey, routes } from "../routes.ts";
import { authorize } from "./auth.ts";
import { envelope, fieldIssues, toAppError, validationError } from "./errors.ts";
import { MAX_JSON_DEPTH, nestedDeeperThan, unstorableParams, unstorableTexts } from "./request-input.ts";

type Schema = $ZodType;
type Out<S> = S extends $ZodType ? output<S> : undefined;

export interface HttpSpec<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> {
  path?: P;
  query?: Q;
  body?: B;
  /** Documents the success reply in the OpenAPI description. */
  response?: Schema;
  /** Status of a successful reply (default 200); documents it too. */
  status?: number;
  /** Documents the success reply (default "Success"), e.g. what a 302's location points at. */
  description?: string;
  /** Documents the error replies particular to this route (409, 410, 429 ...), status -> meaning. */
  errors?: Readonly<Record<number, string>>;
  /**
   * The route takes an `Idempotency-Key` header (Stripe's semantics, core/platform/idempotency):
   * documents the header; the handler reads it with `Idempotency.keyFrom(headers)`.
   */
  idempotent?: boolean;
}

export interface HttpRequest<P, Q, B> {
  path: P;
  query: Q;
  body: B;
  headers: Record<string, string | undefined>;
  event: APIGatewayProxyEventV2;
}

/** A reply with a status, headers or a non-JSON body; plain values become 200 JSON. */
export class HttpReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}
export const created = (body: unknown) => new HttpReply(201, body);
export const accepted = (body: unknown) => new HttpReply(202, body);
export const noContent = () => new HttpReply(204, undefined);
export const text = (status: number, body: string, contentType: string) =>
  new HttpReply(status, body, { "content-type": contentType });

const byKey = new Map(routes.map((r) => [routeKey(r), r]));
// The route label of the HTTP metrics may take exactly the values of the route table.
allowRoutes([...byKey.keys(), "unmatched"]);

/** The CORS policy of routes.ts, which API Gateway also applies (stacks/api.ts). */
function corsHeaders(origin: string | undefined): Record<string, string> {
  const allowed: readonly string[] = cors.allowOrigins;
  const allow = allowed.includes("*") ? "*" : origin && allowed.includes(origin) ? origin : undefined;
  if (!allow) return {};
  return {
    "access-control-allow-origin": allow,
    "access-control-expose-headers": cors.exposeHeaders.join(","),
    ...(allow === "*" ? {} : { vary: "origin" }),
  };
}

function parseBody(event: APIGatewayProxyEventV2): { value?: unknown; issue?: FieldIssue } {
  if (event.body === undefined || event.body === null || event.body === "") return { value: undefined };
  const raw = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  // Before JSON.parse, which would recurse into every level.
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH))
    return { issue: { field: "body", message: `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` } };
  try {
    return { value: JSON.parse(raw) };
  } catch {
    // JSON.parse's own message is the runtime's words (and changes between Node versions).
    return { issue: { field: "body", message: "not valid JSON" } };
  }
}

function validate<S extends Schema | undefined>(
  where: "path" | "query" | "body",
  schema: S,
  value: unknown,
  issues: FieldIssue[],
): Out<S> {
  if (!schema) return undefined as Out<S>;
  const r = safeParse(schema, value ?? (where === "body" ? undefined : {}));
  if (!r.success) {
    issues.push(...fieldIssues(where, r.error));
    return undefined as Out<S>;
  }
  return r.data as Out<S>;
}

/**
 * A request through a `HEAD <path>` route (stacks/api.ts declares one beside every GET route, to
 * the same function) as its GET: same role, same metrics label, same reply. Undefined otherwise.
 */
function asGet(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 | undefined {
  if (!event.routeKey?.startsWith("HEAD ")) return undefined;
  const routeKey = `GET ${event.routeKey.slice("HEAD ".length)}`;
  return { ...event, routeKey, requestContext: { ...event.requestContext, routeKey } };
}

function toResult(value: unknown, requestId: string): APIGatewayProxyStructuredResultV2 {
  const reply = value instanceof HttpReply ? value : new HttpReply(200, value);
  const isText = typeof reply.body === "string" && reply.headers["content-type"];
  return {
    statusCode: reply.status,
    headers: {
      ...(reply.body === undefined || isText ? {} : { "content-type": "application/json" }),
      "x-request-id": requestId,
      ...reply.headers,
    },
    body: reply.body === undefined ? "" : isText ? (reply.body as string) : JSON.stringify(reply.body),
  };
}

export type HttpHandler = ((
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>) & {
  spec: HttpSpec<Schema | undefined, Schema | undefined, Schema | undefined>;
};

type Req = middy.Request<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context,
  { started?: number }
>;
type Mw = middy.MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context,
  { started?: number }
>;
const headersOf = (r: Req) => (r.event.headers ?? {}) as Record<string, string | undefined>;
const requestIdOf = (r: Req) => useContext()?.requestId ?? r.event.requestContext?.requestId ?? "";

/** Outermost: per-route request count, errors and duration, one access-log line, metrics flush. */
const observe = (): Mw => {
  const done = async (r: Req) => {
    const ms = performance.now() - (r.internal.started ?? performance.now());
    const route = byKey.has(r.event.routeKey) ? r.event.routeKey : "unmatched";
    const status = r.response?.statusCode ?? 500;
    recordHttp(route, status, ms);
    // An error reply's code (`db.unavailable`) on the access line, so a filter on it finds them all.
    const code = r.error ? toAppError(r.error).code : undefined;
    log.info("request", { route, status, durationMs: Math.round(ms * 10) / 10, ...(code ? { code } : {}) });
    // What the request started and did not wait for (failure records) ends with the invocation.
    await settleBackground();
    await flushMetrics();
  };
  return {
    before: (r) => {
      r.internal.started = performance.now();
    },
    after: done,
    onError: done,
  };
};

const corsReply = (): Mw => {
  const add = (r: Req) => {
    if (r.response) r.response.headers = { ...r.response.headers, ...corsHeaders(headersOf(r).origin) };
  };
  return { after: add, onError: add };
};

/** Every error becomes the standard envelope; internals are logged, never sent. */
const errorReply = (): Mw => ({
  onError: (r) => {
    const err = toAppError(r.error);
    if (err.kind === "internal") log.error("unhandled error", { err: r.error, route: r.event.routeKey });
    // A dependency that failed (503, 504, 502): the reply says which, the log line says why.
    else if (err.status >= 500) log.warn("dependency failed", { err: r.error, route: r.event.routeKey });
    const headers: Record<string, string> =
      err.retryAfterS === undefined ? {} : { "retry-after": String(Math.max(0, Math.ceil(err.retryAfterS))) };
    r.response = toResult(new HttpReply(err.status, envelope(err, requestIdOf(r)), headers), requestIdOf(r));
  },
});

/**
 * The role the route needs comes from routes.ts; a route key missing there is refused as
 * admin-only, except API Gateway's `$default` (functions/http/fallback.ts: a 405 or 404 says
 * nothing a caller without a key may not know, and `npm start` answers them before any key check).
 */
const authenticate = (): Mw => ({
  before: async (r) => {
    const role = r.event.routeKey === "$default" ? "public" : (byKey.get(r.event.routeKey)?.role ?? "admin");
    await authorize(role, headersOf(r));
  },
});

export function httpHandler<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: HttpSpec<P, Q, B>, fn: (req: HttpRequest<Out<P>, Out<Q>, Out<B>>) => Promise<unknown>): HttpHandler {
  const inner = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context, { started?: number }>({
    timeoutEarlyInMillis: 0,
  })
    .use(observe())
    .use(corsReply())
    .use(errorReply())
    .use(authenticate())
    .handler(async (event) => {
      const headers = (event.headers ?? {}) as Record<string, string | undefined>;
      // Text Postgres cannot store and bodies nested too deep are refused first, whatever the route.
      const issues: FieldIssue[] = [];
      unstorableParams(headers, "header", issues);
      unstorableParams(event.queryStringParameters, "query", issues);
      unstorableParams(event.pathParameters, "path", issues);
      const contentType = headers["content-type"];
      const notJson = spec.body && event.body && contentType && !/json/i.test(contentType);
      if (notJson) issues.push({ field: "body", message: `Content-Type must be application/json, got ${contentType}` });
      const parsed = spec.body && !notJson ? parseBody(event) : { value: undefined };
      if (parsed.issue) issues.push(parsed.issue);
      else unstorableTexts(parsed.value, "body", issues);
      if (issues.length) throw validationError(issues);
      const req = {
        path: validate<P>("path", spec.path as P, event.pathParameters, issues),
        query: validate<Q>("query", spec.query as Q, event.queryStringParameters, issues),
        body: validate<B>("body", spec.body as B, parsed.value, issues),
        headers,
        event,
      };
      if (issues.length) throw validationError(issues);
      return toResult(await fn(req), useContext()?.requestId ?? "");
    });

  // The request context wraps the whole chain so every middleware and core call sees it.
  const handler = (async (event: APIGatewayProxyEventV2, context: Context) => {
    const headers = (event.headers ?? {}) as Record<string, string | undefined>;
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const correlationId = headers["x-correlation-id"]?.slice(0, 128) || requestId;
    const head = asGet(event);
    const result = await withContext({ requestId, correlationId, actor: { type: "public" } }, () =>
      inner(head ?? event, context),
    );
    // HEAD is its GET without a body (the headers, content-type included, stay).
    return head ? { ...result, body: "" } : result;
  }) as HttpHandler;
  handler.spec = spec as HttpHandler["spec"];
  return handler;
}
