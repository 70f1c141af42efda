/**
 * Outbound HTTP for external skills: node:http(s) with an SSRF guard applied after DNS
 * resolution (the connection goes to the address that was checked), no redirects followed, and
 * caps on response size and time. Error messages name the target (`slack`,
 * `webhook:example.com`) and never the URL or request headers: both may carry secrets.
 */
import type { LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { config } from "../config.ts";
import { AppError, InternalError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { UpstreamError, UrlBlockedError } from "./errors.ts";
import { bareHost, isAllowListed, resolvePublic } from "./ssrf.ts";

export interface OutboundRequest {
  /** Names the target in errors (`slack`, `webhook:example.com`). */
  target: string;
  url: string;
  method?: "POST" | "GET";
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Per attempt; default SKILL_HTTP_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Default SKILL_HTTP_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /**
   * The URL came from a request: refuse private, loopback, link-local, metadata and other
   * non-public addresses (unless the host is in SKILL_OUTBOUND_ALLOW_HOSTS). `field` is named in
   * the 400 (`args.url`).
   */
  guard?: { field: string };
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What an aborted request throws: the signal's reason when it is an Error (a SkillTimeoutError). */
const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error("The request was aborted");

function parseUrl(req: OutboundRequest): URL {
  try {
    return new URL(req.url);
  } catch (e) {
    if (req.guard) throw new UrlBlockedError(req.guard.field, "not a valid URL");
    throw new InternalError(`The URL configured for ${req.target} is not valid`, { cause: e });
  }
}

/** Connect only to the addresses the guard checked, whatever DNS answers by the time we connect. */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_host, options, callback) => {
    const usable = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
    const list = usable.length ? usable : addresses;
    if (options.all) (callback as (e: null, a: LookupAddress[]) => void)(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  };
}

/** `p`, or the signal's reason as soon as it aborts (dns.lookup cannot be cancelled). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * One HTTP request, one attempt. Throws UrlBlockedError (guard), UpstreamError (network error,
 * timeout: retryable; oversized reply: not), or the signal's reason when `req.signal` aborts.
 * A 3xx comes back as a response (never followed); `ensureOk` refuses it.
 */
export async function send(req: OutboundRequest): Promise<OutboundResponse> {
  const cfg = config().skills.http;
  const timeoutMs = req.timeoutMs ?? cfg.timeoutMs;
  const url = parseUrl(req);
  if (req.signal?.aborted) throw abortReason(req.signal);

  // One signal for this attempt: the caller's deadline or the per-attempt timeout, whichever first.
  const attempt = new AbortController();
  const timer = new AbortController();
  void clock()
    .sleep(timeoutMs, timer.signal)
    .then(
      () =>
        attempt.abort(
          new UpstreamError(req.target, `${req.target} did not answer within ${timeoutMs} ms`, {
            retryable: true,
            code: "skills.upstream_timeout",
          }),
        ),
      () => undefined,
    );
  const onCallerAbort = () => attempt.abort(abortReason(req.signal as AbortSignal));
  req.signal?.addEventListener("abort", onCallerAbort, { once: true });
  try {
    let pinned: LookupAddress[] | undefined;
    if (req.guard && !isAllowListed(url)) {
      pinned = await raceAbort(resolvePublic(url, req.guard.field), attempt.signal).catch((e: unknown) => {
        throw e instanceof AppError || attempt.signal.aborted ? e : unreachable(req.target, e);
      });
    } else if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new InternalError(`The URL configured for ${req.target} is not http(s)`);
    }
    return await exchange(req, url, pinned, attempt.signal, req.maxResponseBytes ?? cfg.maxResponseBytes);
  } finally {
    timer.abort();
    req.signal?.removeEventListener("abort", onCallerAbort);
  }
}

function unreachable(target: string, e: unknown): UpstreamError {
  const code = (e as { code?: unknown })?.code;
  return new UpstreamError(target, `${target} could not be reached${typeof code === "string" ? ` (${code})` : ""}`, {
    retryable: true,
    code: "skills.upstream_unreachable",
    cause: e,
  });
}

function exchange(
  req: OutboundRequest,
  url: URL,
  pinned: LookupAddress[] | undefined,
  signal: AbortSignal,
  maxBytes: number,
): Promise<OutboundResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      fn();
    };
    const fail = (e: Error) => {
      settle(() => reject(e));
      r.destroy();
    };
    const tooLarge = () =>
      fail(
        new UpstreamError(req.target, `${req.target} answered with more than ${maxBytes} bytes`, {
          retryable: false,
          code: "skills.response_too_large",
        }),
      );
    const onAbort = () => fail(abortReason(signal));

    const body = req.body;
    const options: RequestOptions = {
      method: req.method ?? (body === undefined ? "GET" : "POST"),
      // The hostname stays the name (Host header, TLS servername); `lookup` decides where we connect.
      host: bareHost(url),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: {
        ...req.headers,
        ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
      },
      // No pooled sockets: each attempt connects to the address checked for it.
      agent: false,
      ...(pinned ? { lookup: pinnedLookup(pinned) } : {}),
    };
    const r = (url.protocol === "https:" ? httpsRequest : httpRequest)(options, (res) => {
      if (Number(res.headers["content-length"]) > maxBytes) return tooLarge();
      const chunks: Buffer[] = [];
      let total = 0;
      res.on("data", (c: Buffer) => {
        total += c.length;
        if (total > maxBytes) return tooLarge();
        chunks.push(c);
      });
      res.on("end", () =>
        settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })),
      );
      res.on("error", (e) => fail(unreachable(req.target, e)));
      // The connection dropped mid-body: no 'end' will come.
      res.on("close", () => {
        if (!res.complete) fail(unreachable(req.target, new Error("connection closed before the response ended")));
      });
    });
    r.on("error", (e) => fail(signal.aborted ? abortReason(signal) : unreachable(req.target, e)));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    r.end(body);
  });
}

/** How much of a refusal's body the failure catalog's matcher gets to read. */
const UPSTREAM_BODY_BYTES = 512;

/**
 * Retry-After as milliseconds from now: delta-seconds (`120`) or an HTTP-date (never negative);
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = clock().nowMs()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The response if 2xx; else UpstreamError: 5xx, 429 and 408 retryable (Retry-After kept), a 3xx
 * `skills.redirect_refused`, other 4xx `skills.upstream_rejected`, neither retryable.
 */
export function ensureOk(res: OutboundResponse, target: string): OutboundResponse {
  const s = res.status;
  if (s >= 200 && s < 300) return res;
  // The start of the body, for the failure catalog only (UpstreamError.upstreamBody): it names the
  // refusal (Slack's `invalid_token`, Voyage's `detail`). It is never put on a reply or a log line.
  const body = res.body.subarray(0, UPSTREAM_BODY_BYTES).toString("utf8");
  if (s >= 300 && s < 400)
    return refuse(target, s, `${target} answered with a redirect (${s}); redirects are not followed`, {
      retryable: false,
      code: "skills.redirect_refused",
      body,
    });
  if (s >= 500 || s === 429 || s === 408)
    return refuse(target, s, `${target} answered ${s}`, {
      retryable: true,
      retryAfterMs: parseRetryAfter(res.headers["retry-after"]),
      body,
    });
  return refuse(target, s, `${target} refused the request (${s})`, {
    retryable: false,
    code: "skills.upstream_rejected",
    body,
  });
}

function refuse(
  target: string,
  status: number,
  message: string,
  o: { retryable: boolean; code?: string; retryAfterMs?: number | undefined; body?: string },
): never {
  throw new UpstreamError(target, message, {
    status,
    retryable: o.retryable,
    ...(o.body ? { body: o.body } : {}),
    ...(o.code ? { code: o.code } : {}),
    ...(o.retryAfterMs === undefined ? {} : { retryAfterMs: o.retryAfterMs }),
  });
}
