/**
 * AWS event builders for handler tests, starting from the JSON fixtures beside this file, and
 * `invoke()`: call the handler of a route of functions/routes.ts as API Gateway would.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from "aws-lambda";
import { createRouter } from "../../functions/_lib/route-match.ts";
import { type HttpRoute, handlerFile, routeKey, routes } from "../../functions/routes.ts";

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), "utf8")) as T;

export function lambdaContext(functionName = "aos-test", timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/11/22/[$LATEST]test",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

const router = createRouter(routes);

/** The route API Gateway would pick for `method` and `path` (the most specific of that method), as npm start does. */
export function matchRoute(
  method: string,
  path: string,
): { route: HttpRoute; params: Record<string, string> } | undefined {
  const m = router.match(method, path);
  return m ? { route: m.route, params: m.pathParameters ?? {} } : undefined;
}

export interface InvokeOptions {
  key?: string;
  body?: unknown;
  /** Sent as is (for malformed JSON tests). */
  rawBody?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export function httpEvent(method: string, path: string, o: InvokeOptions = {}): APIGatewayProxyEventV2 {
  const base = fixture<APIGatewayProxyEventV2>("./apigw-v2.json");
  const match = matchRoute(method, path);
  const rk = match ? routeKey(match.route) : `${method} ${path}`;
  const qs = new URLSearchParams(o.query ?? {}).toString();
  const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  return {
    ...base,
    routeKey: rk,
    rawPath: path,
    rawQueryString: qs,
    headers: {
      ...base.headers,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
      ...o.headers,
    },
    ...(o.query ? { queryStringParameters: o.query } : {}),
    ...(match && Object.keys(match.params).length ? { pathParameters: match.params } : {}),
    ...(body !== undefined ? { body } : {}),
    requestContext: {
      ...base.requestContext,
      requestId: randomUUID(),
      routeKey: rk,
      http: { ...base.requestContext.http, method, path },
    },
  };
}

export interface InvokeResult<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
  text: string;
}

/** Call the handler that functions/routes.ts names for `method path`, as API Gateway would. */
export async function invoke<T = any>(method: string, path: string, o: InvokeOptions = {}): Promise<InvokeResult<T>> {
  const match = matchRoute(method, path);
  if (!match) throw new Error(`no route for ${method} ${path}`);
  const mod = (await import(pathToFileURL(resolve(handlerFile(match.route.handler))).href)) as {
    handler: (
      e: APIGatewayProxyEventV2,
      c: Context,
    ) => Promise<{ statusCode?: number; headers?: Record<string, string>; body?: string }>;
  };
  const res = await mod.handler(httpEvent(method, path, o), lambdaContext());
  const text = res.body ?? "";
  const isJson = /json/.test(res.headers?.["content-type"] ?? "");
  return {
    status: res.statusCode ?? 200,
    headers: res.headers ?? {},
    body: (isJson && text ? JSON.parse(text) : text) as T,
    text,
  };
}

export function sqsEvent(bodies: unknown[], overrides: Partial<SQSRecord> = {}): SQSEvent {
  const base = fixture<SQSEvent>("./sqs-batch.json").Records[0] as SQSRecord;
  return {
    Records: bodies.map((b) => ({
      ...base,
      messageId: randomUUID(),
      body: typeof b === "string" ? b : JSON.stringify(b),
      ...overrides,
    })),
  };
}

/** What SST's CronV2 (EventBridge Scheduler) delivers to a cron handler: `{}`. */
export const scheduledEvent = (): Record<string, unknown> => fixture<Record<string, unknown>>("./scheduled.json");
