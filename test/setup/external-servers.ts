/**
 * Real HTTP servers on loopback standing in for the services external skills call: a Slack-like
 * incoming webhook and a webhook receiver that checks AOS's signature the way a real receiver
 * should. Each records what it received and can be told to misbehave for the next requests
 * (a status, Retry-After, a delay, a hang, a redirect, an oversized body).
 *
 * @example
 *   const slack = await startSlackServer();
 *   slack.throttle(1, 1); // the next request gets 429 Retry-After: 1
 *   const hook = await startWebhookReceiver({ secret });
 *   hook.always({ delayMs: 2000 }); // a slow receiver
 *   expect(hook.deliveries).toHaveLength(1);
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";
import { type VerifyResult, verifySignature } from "../../core/skills/webhook-signing.ts";

export interface RecordedRequest {
  /** 1 for the first request the server received. */
  n: number;
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** Date.now() when the body had arrived. */
  at: number;
}

/** How to answer one request; fields compose (`{ delayMs: 500, status: 503 }`). */
export interface Behaviour {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the connection stays open until the client gives up or the server closes). */
  hang?: boolean;
  /** Stream this many bytes without a content-length (to test a client's streaming cap). */
  streamBytes?: number;
}

export interface ScriptedServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far (zero proves a client never even connected). */
  connections(): number;
  inFlight(): number;
  maxInFlight(): number;
  /** The next `times` requests get `b` (queued after earlier `next` calls). */
  next(b: Behaviour, times?: number): void;
  /** Every request without a queued behaviour gets `b` from now on (`undefined`: the default answer). */
  always(b: Behaviour | undefined): void;
  close(): Promise<void>;
}

interface Base extends ScriptedServer {
  /** Answer `req` with `b` merged over `fallback`. */
  answer(res: ServerResponse, b: Behaviour, fallback: Behaviour): Promise<void>;
  take(): Behaviour | undefined;
}

async function startScripted(
  onRequest: (req: RecordedRequest, res: ServerResponse, server: Base) => Promise<void>,
): Promise<Base> {
  const queue: Behaviour[] = [];
  let standing: Behaviour | undefined;
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const timers = new Set<NodeJS.Timeout>();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const rec: RecordedRequest = {
        n: base.requests.length + 1,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        text: body.toString("utf8"),
        at: Date.now(),
      };
      base.requests.push(rec);
      onRequest(rec, res, base).catch(() => res.destroy());
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;

  const base: Base = {
    origin: `http://127.0.0.1:${port}`,
    requests: [],
    connections: () => connections,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    next(b, times = 1) {
      for (let i = 0; i < times; i++) queue.push(b);
    },
    always(b) {
      standing = b;
    },
    take: () => queue.shift() ?? standing,
    async answer(res, b, fallback) {
      const a = { ...fallback, ...b, headers: { ...fallback.headers, ...b.headers } };
      if (a.delayMs) await wait(a.delayMs);
      if (a.hang || res.destroyed) return;
      if (a.streamBytes !== undefined) {
        res.writeHead(a.status ?? 200, { "content-type": "application/octet-stream", ...a.headers });
        const chunk = Buffer.alloc(64 * 1024, "x");
        for (let left = a.streamBytes; left > 0 && !res.destroyed; left -= chunk.length) {
          const ok = res.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
          if (!ok)
            await new Promise<void>((r) => {
              const done = () => {
                res.off("drain", done).off("close", done);
                r();
              };
              res.once("drain", done).once("close", done);
            });
        }
        res.end();
        return;
      }
      res.writeHead(a.status ?? 200, a.headers);
      res.end(a.body ?? "");
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return base;
}

export interface SlackServer extends ScriptedServer {
  /** The incoming-webhook URL to configure (SLACK_WEBHOOK_URL) or pass as `webhook_url`. */
  readonly url: string;
  /** The next `times` requests get 429 with `Retry-After: <retryAfter>`. */
  throttle(times: number, retryAfter: number | string): void;
  /** The next `times` requests get `status` (Slack answers errors as plain text). */
  fail(times: number, status?: number, body?: string): void;
  /** The next `times` requests get no answer at all. */
  hang(times: number): void;
}

/** A plain recording server: every request gets the queued or standing behaviour, else `200 ok`. */
/**
 * Call once at a test file's top level: returns `track(server)`, which hands the server back and
 * closes it after the test that started it.
 */
export function closedAfterEach(): <S extends ScriptedServer>(s: S) => S {
  let servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  return (s) => {
    servers.push(s);
    return s;
  };
}

export function startScriptedServer(): Promise<ScriptedServer> {
  const ok: Behaviour = { status: 200, headers: { "content-type": "text/plain" }, body: "ok" };
  return startScripted((_req, res, srv) => srv.answer(res, srv.take() ?? {}, ok));
}

/** A Slack-like incoming webhook: answers `200 ok` unless told otherwise. */
export async function startSlackServer(): Promise<SlackServer> {
  const s = await startScriptedServer();
  return Object.assign(s, {
    url: `${s.origin}/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX`,
    throttle: (times: number, retryAfter: number | string) =>
      s.next({ status: 429, headers: { "retry-after": String(retryAfter) }, body: "rate_limited" }, times),
    fail: (times: number, status = 500, body = "internal_error") => s.next({ status, body }, times),
    hang: (times: number) => s.next({ hang: true }, times),
  });
}

export interface Delivery extends RecordedRequest {
  deliveryId: string;
  timestamp: number;
  /** What the receiver answered (set once it did). */
  status?: number;
}

export interface WebhookReceiver extends ScriptedServer {
  /** Where to deliver (`<origin>/hooks`). */
  readonly url: string;
  /** The secret signatures are checked with; may be changed between requests. */
  secret: string;
  /** Requests whose signature and timestamp checked out, in arrival order. */
  readonly deliveries: Delivery[];
  /** Requests refused with 401, and why. */
  readonly rejected: { request: RecordedRequest; reason: Exclude<VerifyResult, { ok: true }>["reason"] }[];
  /** The next `times` verified deliveries get `status` (with optional headers, e.g. Retry-After). */
  fail(status: number, times?: number, headers?: Record<string, string>): void;
  /** The next `times` verified deliveries are answered after `ms`. */
  delay(ms: number, times?: number): void;
  /** The next `times` verified deliveries get a redirect to `location`. */
  redirect(location: string, times?: number, status?: number): void;
  /** The next `times` verified deliveries get a streamed body of `bytes` bytes. */
  huge(bytes: number, times?: number): void;
}

/**
 * A receiver that does what AOS asks of real ones: checks X-AOS-Signature (constant-time) with
 * its secret and refuses, with 401, a bad signature or a timestamp more than `toleranceS` from
 * its clock. A verified delivery gets `200 {"received":true}` unless told otherwise.
 */
export async function startWebhookReceiver(o: {
  secret: string;
  toleranceS?: number;
  /** The receiver's clock, in seconds (default: the real one). */
  nowS?: () => number;
}): Promise<WebhookReceiver> {
  const nowS = o.nowS ?? (() => Math.floor(Date.now() / 1000));
  const ok: Behaviour = { status: 200, headers: { "content-type": "application/json" }, body: '{"received":true}' };
  const deliveries: Delivery[] = [];
  const rejected: WebhookReceiver["rejected"] = [];
  let receiver: WebhookReceiver;
  const s = await startScripted(async (req, res, srv) => {
    const v = verifySignature(receiver.secret, req.headers, req.body, nowS(), o.toleranceS);
    if (!v.ok) {
      rejected.push({ request: req, reason: v.reason });
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: v.reason }));
      return;
    }
    const d: Delivery = { ...req, deliveryId: String(req.headers["x-aos-delivery-id"] ?? ""), timestamp: v.timestamp };
    deliveries.push(d);
    const b = srv.take() ?? {};
    res.on("finish", () => {
      d.status = res.statusCode;
    });
    await srv.answer(res, b, ok);
  });
  receiver = Object.assign(s, {
    url: `${s.origin}/hooks`,
    secret: o.secret,
    deliveries,
    rejected,
    fail: (status: number, times = 1, headers: Record<string, string> = {}) =>
      s.next({ status, headers, body: JSON.stringify({ error: status }) }, times),
    delay: (ms: number, times = 1) => s.next({ delayMs: ms }, times),
    redirect: (location: string, times = 1, status = 302) => s.next({ status, headers: { location } }, times),
    huge: (bytes: number, times = 1) => s.next({ streamBytes: bytes }, times),
  });
  return receiver;
}
