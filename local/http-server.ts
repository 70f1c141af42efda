/**
 * The HTTP side of API Gateway: every route of the table served on one port, each request turned
 * into a payload-2.0 event for its handler. Limits as deployed: 10 MB request bodies (413),
 * 30 s at most per request (504, the handler may run on). An unknown path is a 404; a known path
 * without the request's method a 405 with `Allow` (functions/_lib/route-match.ts); HEAD is its GET without the
 * body. A request line and headers over Node's 16 KB are a 431, anything Node cannot parse as
 * HTTP a 400: every answer the runtime gives itself carries the error envelope.
 */
import {
  createServer,
  type IncomingMessage,
  maxHeaderSize,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { log } from "../core/platform/logger.ts";
import { createRouter } from "../functions/_lib/route-match.ts";
import { cors, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, type HttpRoute, routeKey } from "../functions/routes.ts";
import {
  errorReply,
  fromLambdaResult,
  type HttpReply,
  InvalidResultError,
  newRequestId,
  toApiGatewayEvent,
} from "./http-event.ts";
import type { Invoker } from "./invoke.ts";

/** API Gateway's payload limit. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway HTTP API's integration timeout. */
export const GATEWAY_TIMEOUT_S = 30;

export interface HttpServerOptions {
  routes: readonly HttpRoute[];
  invoker: Invoker;
  maxBodyBytes?: number;
  gatewayTimeoutS?: number;
}

export interface LocalHttpServer {
  server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stop accepting; requests under way finish (invoker.drain waits for them); then close(). */
  stopAccepting(): void;
  close(): Promise<void>;
}

class BodyTooLargeError extends Error {}
class ClientGoneError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) return reject(new BodyTooLargeError());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLargeError());
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
    // A client that hangs up mid-body must not leave this request waiting forever.
    req.on("close", () => {
      if (!req.complete) reject(new ClientGoneError());
    });
  });
}

function send(res: ServerResponse, reply: HttpReply, requestId: string, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | string[]> = {
    ...reply.headers,
    "apigw-requestid": requestId,
    "content-length": String(reply.body.length),
  };
  if (reply.cookies.length) headers["set-cookie"] = reply.cookies;
  if (close) headers.connection = "close";
  res.writeHead(reply.statusCode, headers);
  res.end(reply.body);
}

/**
 * What Node's HTTP parser refused before any route was looked at, in the error envelope: Node's
 * own answer is a bare status line. Over `maxHeaderSize` (16 KB: a long URL counts) is a 431.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = newRequestId();
  const kb = Math.round(maxHeaderSize / 1024);
  const reply =
    err.code === "HPE_HEADER_OVERFLOW"
      ? errorReply(431, "headers_too_large", `The request line and headers are limited to ${kb} KB`, requestId)
      : errorReply(400, "bad_request", "The request is not valid HTTP/1.1", requestId);
  const head = [
    `HTTP/1.1 ${reply.statusCode} ${STATUS_CODES[reply.statusCode]}`,
    "content-type: application/json",
    `content-length: ${reply.body.length}`,
    `apigw-requestid: ${requestId}`,
    "connection: close",
  ];
  // A reply to HEAD has no body (what Node could read of the request says which method it was).
  const isHead = (err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
  socket.end(Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`), isHead ? Buffer.alloc(0) : reply.body]));
}

export function createHttpServer(o: HttpServerOptions): LocalHttpServer {
  const router = createRouter(o.routes);
  const maxBody = o.maxBodyBytes ?? MAX_BODY_BYTES;
  const gatewayTimeoutS = o.gatewayTimeoutS ?? GATEWAY_TIMEOUT_S;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQueryString = q < 0 ? "" : url.slice(q + 1);
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (e) {
      if (e instanceof ClientGoneError) return;
      if (!(e instanceof BodyTooLargeError)) throw e;
      const mb = Math.round(maxBody / 1024 / 1024);
      send(
        res,
        errorReply(413, "payload_too_large", `Request bodies are limited to ${mb} MB`, requestId),
        requestId,
        true,
      );
      return;
    }
    if (req.method === "OPTIONS" && cors.allowMethods.some((m) => router.match(m, rawPath))) {
      // CORS preflight: API Gateway answers it without calling a function; so do we.
      res.writeHead(204, {
        "access-control-allow-origin": cors.allowOrigins.join(","),
        "access-control-allow-methods": cors.allowMethods.join(","),
        "access-control-allow-headers": cors.allowHeaders.join(","),
        "access-control-max-age": String(cors.maxAgeS),
        "x-request-id": requestId,
      });
      res.end();
      return;
    }
    const resolved = router.resolve(req.method ?? "GET", rawPath);
    if (resolved.kind === "not_found") {
      const msg = `No route for ${req.method} ${rawPath}`;
      send(res, errorReply(404, "not_found", msg, requestId), requestId);
      return;
    }
    if (resolved.kind === "method_not_allowed") {
      const allow = resolved.allow.join(", ");
      const msg = `${req.method} is not allowed on ${rawPath}; it takes ${allow}`;
      const reply = errorReply(405, "method_not_allowed", msg, requestId);
      send(res, { ...reply, headers: { ...reply.headers, allow } }, requestId);
      return;
    }
    const { match } = resolved;
    const route = match.route;
    const key = routeKey(route);
    const event = toApiGatewayEvent({
      req,
      rawPath,
      rawQueryString,
      body,
      routeKey: key,
      pathParameters: match.pathParameters,
      requestId,
    });
    const fn = {
      handler: route.handler,
      timeoutS: route.timeoutS ?? DEFAULT_TIMEOUT_S,
      memoryMb: route.memoryMb ?? DEFAULT_MEMORY_MB,
    };
    const outcome = await o.invoker.invoke(fn, event, gatewayTimeoutS);
    if (outcome.status === "timeout") {
      log.error("handler timed out", {
        route: key,
        handler: route.handler,
        timeoutS: Math.min(fn.timeoutS, gatewayTimeoutS),
      });
      send(res, errorReply(504, "timeout", "The handler did not answer in time", requestId), requestId);
      return;
    }
    if (outcome.status === "error") {
      log.error("handler failed", { route: key, handler: route.handler, err: outcome.error });
      send(res, errorReply(500, "internal", "Internal error", requestId), requestId);
      return;
    }
    let reply: HttpReply;
    try {
      reply = fromLambdaResult(outcome.result);
    } catch (e) {
      if (!(e instanceof InvalidResultError)) throw e;
      log.error("handler returned an invalid response", { route: key, handler: route.handler, err: e });
      reply = errorReply(500, "internal", "Internal error", requestId);
    }
    send(res, reply, requestId);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error("local HTTP server failed", { err: e });
      const id = newRequestId();
      send(res, errorReply(500, "internal", "Internal error", id), id);
    });
  });
  // No request timeout of Node's own: the gateway timeout above is the one that applies.
  server.requestTimeout = 0;
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket));

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    stopAccepting() {
      server.close();
      server.closeIdleConnections();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
