/**
 * A recording HTTP proxy on loopback in front of an emulator (s3rver, fauxqs), for tests that
 * need to see what was sent or make the service fail on demand: answer a request itself (a 500,
 * a throttle), change the request before forwarding it, or change the answer on the way back.
 * It is a real HTTP server, so the SDK's own serialisation, retries and error parsing are
 * exercised, not a stub.
 *
 * @example
 *   const proxy = await startHttpProxy(config().sqs.endpoint!);
 *   proxy.intercept = (req) => (req.n === 1 ? { reply: { status: 500, body: "{}" } } : undefined);
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedRequest {
  /** 1 for the first request the proxy received. */
  n: number;
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds since the proxy started. */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type Intercept = (req: ProxiedRequest) =>
  | undefined
  | { reply: Reply }
  | {
      /** Forward this body instead of the received one. */
      forwardBody?: Buffer | string;
      /** Rewrite the upstream answer's body before it goes back. */
      rewrite?: (status: number, body: Buffer) => Buffer | string;
    };

export interface HttpProxy {
  url: string;
  requests: ProxiedRequest[];
  intercept: Intercept;
  /** Requests being handled right now, and the most there ever were at once. */
  inFlight: () => number;
  maxInFlight: () => number;
  close(): Promise<void>;
}

export async function startHttpProxy(target: string): Promise<HttpProxy> {
  const t = new URL(target);
  const started = Date.now();
  let inFlight = 0;
  let maxInFlight = 0;
  const proxy: HttpProxy = {
    url: "",
    requests: [],
    intercept: () => undefined,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const recorded: ProxiedRequest = {
        n: proxy.requests.length + 1,
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now() - started,
      };
      proxy.requests.push(recorded);
      const action = proxy.intercept(recorded);
      if (action && "reply" in action) {
        const body = action.reply.body ?? "";
        res.writeHead(action.reply.status, { "content-length": Buffer.byteLength(body), ...action.reply.headers });
        res.end(body);
        return;
      }
      const body = action?.forwardBody === undefined ? recorded.body : Buffer.from(action.forwardBody);
      const headers = { ...req.headers, host: t.host, "content-length": String(body.length) };
      delete headers["transfer-encoding"];
      const up = httpRequest(
        { host: t.hostname, port: t.port, method: req.method, path: req.url, headers },
        (upRes) => {
          const upChunks: Buffer[] = [];
          upRes.on("data", (c: Buffer) => upChunks.push(c));
          upRes.on("end", () => {
            const status = upRes.statusCode ?? 502;
            const raw = Buffer.concat(upChunks);
            const out = action?.rewrite ? Buffer.from(action.rewrite(status, raw)) : raw;
            const outHeaders = { ...upRes.headers, "content-length": String(out.length) };
            delete outHeaders["transfer-encoding"];
            res.writeHead(status, outHeaders);
            res.end(out);
          });
        },
      );
      up.on("error", () => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("upstream unreachable");
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
