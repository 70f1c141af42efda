/**
 * API Gateway HTTP API, payload format 2.0, both ways: an incoming request becomes the event a
 * Lambda receives; what the Lambda returns becomes the HTTP reply, with the same rules for the
 * structured form (`{ statusCode, headers, cookies, body, isBase64Encoded }`) and for anything
 * else (200, `application/json`, the value serialised as the body).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { LOCAL_ACCOUNT_ID } from "./lambda-context.ts";

export const API_ID = "local";

/** API Gateway request ids look like `JKJaXmPLvHcESHA=`. */
export const newRequestId = () => randomBytes(10).toString("base64").replace(/[+/]/g, "A");

/** Content types API Gateway passes as text; anything else arrives base64-encoded. */
function isTextType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const t = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    t.startsWith("text/") ||
    /[/+](json|xml)$/.test(t) ||
    t === "application/x-www-form-urlencoded" ||
    t === "application/javascript" ||
    t === "application/graphql"
  );
}

/** `10/Mar/2026:19:03:58 +0000`, as in `requestContext.time`. */
function clfTime(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

export interface EventInput {
  req: IncomingMessage;
  rawPath: string;
  rawQueryString: string;
  body: Buffer;
  routeKey: string;
  pathParameters: Record<string, string> | undefined;
  requestId: string;
  now?: Date;
}

export function toApiGatewayEvent(i: EventInput): APIGatewayProxyEventV2 {
  const now = i.now ?? new Date();
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  // rawHeaders keeps repeats apart; API Gateway joins them with commas and moves cookies out.
  for (let k = 0; k < i.req.rawHeaders.length; k += 2) {
    const name = (i.req.rawHeaders[k] as string).toLowerCase();
    const value = i.req.rawHeaders[k + 1] as string;
    if (name === "cookie")
      cookies.push(
        ...value
          .split(";")
          .map((c) => c.trim())
          .filter(Boolean),
      );
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  let query: Record<string, string> | undefined;
  for (const pair of i.rawQueryString ? i.rawQueryString.split("&") : []) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    const key = decode(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? "" : decode(pair.slice(at + 1));
    query ??= {};
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  const text = isTextType(headers["content-type"]);
  const host = headers.host ?? "localhost";
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: i.routeKey,
    rawPath: i.rawPath,
    rawQueryString: i.rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: API_ID,
      domainName: host,
      domainPrefix: host.split(".")[0]?.split(":")[0] ?? host,
      http: {
        method: (i.req.method ?? "GET").toUpperCase(),
        path: decode(i.rawPath),
        protocol: `HTTP/${i.req.httpVersion}`,
        sourceIp: (i.req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: i.requestId,
      routeKey: i.routeKey,
      stage: "$default",
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: i.body.length > 0 && !text,
  };
  if (cookies.length) event.cookies = cookies;
  if (query) event.queryStringParameters = query;
  if (i.pathParameters) event.pathParameters = i.pathParameters;
  if (i.body.length) event.body = text ? i.body.toString("utf8") : i.body.toString("base64");
  return event;
}

export interface HttpReply {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

export class InvalidResultError extends Error {
  override name = "InvalidResultError";
}

/**
 * A result with a `statusCode` is the structured form; anything else (an object without
 * `statusCode`, a string, a number, nothing) is sent as 200 JSON, as API Gateway does.
 */
export function fromLambdaResult(result: unknown): HttpReply {
  const structured = result !== null && typeof result === "object" && !Array.isArray(result) && "statusCode" in result;
  if (!structured) {
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      cookies: [],
      body: Buffer.from(JSON.stringify(result ?? null)),
    };
  }
  const r = result as Record<string, unknown>;
  const status = r.statusCode;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new InvalidResultError(`statusCode must be an integer from 100 to 599, got ${JSON.stringify(status)}`);
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== "string") {
    throw new InvalidResultError(`body must be a string, got ${typeof r.body} (JSON.stringify it)`);
  }
  const headers: Record<string, string> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== "object") throw new InvalidResultError("headers must be an object");
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) {
      if (!["string", "number", "boolean"].includes(typeof v)) {
        throw new InvalidResultError(`header ${k} must be a string, number or boolean`);
      }
      headers[k.toLowerCase()] = String(v);
    }
  }
  const cookies = r.cookies ?? [];
  if (!Array.isArray(cookies) || cookies.some((c) => typeof c !== "string")) {
    throw new InvalidResultError("cookies must be an array of strings");
  }
  const bodyText = (r.body as string | undefined) ?? "";
  return {
    statusCode: status,
    headers,
    cookies: cookies as string[],
    body: r.isBase64Encoded === true ? Buffer.from(bodyText, "base64") : Buffer.from(bodyText, "utf8"),
  };
}

/** The error envelope of AOS (`functions/_lib/errors.ts`), for answers the runtime gives itself. */
export function errorReply(status: number, code: string, message: string, requestId: string): HttpReply {
  return {
    statusCode: status,
    headers: { "content-type": "application/json" },
    cookies: [],
    body: Buffer.from(JSON.stringify({ error: { code, message, details: null, requestId } })),
  };
}
