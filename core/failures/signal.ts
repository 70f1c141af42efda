/**
 * What the matcher reads of a failure: its code and kind, the upstream status and target, the
 * message (and its normalised form), and every link of its cause chain. Built from anything
 * thrown (an AppError, a Node or pg error, an AggregateError, a string) or from the fields an
 * operator sends to `POST /api/v1/failures/classify`.
 */
import { isAppError } from "../errors.ts";

/** One error of the chain: the error itself first, then each `cause` (and an AggregateError's errors). */
export interface ChainLink {
  name?: string;
  code?: string;
  message: string;
}

export interface FailureSignal {
  /** AOS's error code, or the raw error's own `code` when it is not an AppError. */
  code?: string;
  /** The AppError kind (core/errors.ts), when known. */
  kind?: string;
  /** The upstream's HTTP status, when an upstream answered. */
  status?: number;
  /** The skill target (`slack`, `voyage`, a host). */
  target?: string;
  /** The upstream's reply body, when known (Slack's words, Voyage's JSON). */
  body?: string;
  message: string;
  /** The message normalised: lower case, ids, uuids, numbers, urls, addresses and quoted text stripped. */
  normalised: string;
  chain: ChainLink[];
}

/** Fields a caller can give instead of an error (the classify API, a queued record). */
export interface SignalFields {
  code?: string | undefined;
  kind?: string | undefined;
  status?: number | undefined;
  target?: string | undefined;
  body?: string | undefined;
  message?: string | undefined;
  /** Codes or names of the cause chain, outermost first. */
  causes?: readonly string[] | undefined;
}

const CHAIN_MAX = 8;
const MESSAGE_MAX = 2000;

/**
 * Normalise a message for patterns and similarity: `Job 5f0c...-... not found` and `Job 9a1b...
 * not found` become the same text.
 */
export function normaliseMessage(message: string): string {
  return message
    .toLowerCase()
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]+/g, "<url>")
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, "<uuid>")
    .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, "<addr>")
    .replace(/\[[0-9a-f:]+\](?::\d+)?/g, "<addr>")
    .replace(/\baos_[a-z0-9_-]+/g, "<key>")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, "<s>")
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b/g, "<hex>")
    .replace(/\d+(?:\.\d+)?/g, "<n>")
    .replace(/\s+/g, " ")
    .trim();
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The chain of `e`: itself, its causes, an AggregateError's errors; at most CHAIN_MAX links, no cycles. */
function chainOf(e: unknown): ChainLink[] {
  const out: ChainLink[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [e];
  while (queue.length && out.length < CHAIN_MAX) {
    const x = queue.shift();
    if (x === undefined || x === null || seen.has(x)) continue;
    seen.add(x);
    if (typeof x !== "object") {
      out.push({ message: String(x).slice(0, MESSAGE_MAX) });
      continue;
    }
    const o = x as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    const link: ChainLink = { message: (str(o.message) ?? "").slice(0, MESSAGE_MAX) };
    const name = str(o.name);
    if (name) link.name = name;
    const code = str(o.code) ?? (typeof o.code === "number" ? String(o.code) : undefined);
    if (code) link.code = code;
    out.push(link);
    if (o.cause !== undefined) queue.push(o.cause);
    if (Array.isArray(o.errors)) queue.push(...o.errors.slice(0, CHAIN_MAX));
  }
  return out;
}

/** An HTTP status written in the message (`answered 503`, `refused the request (401)`). */
function statusInMessage(message: string): number | undefined {
  const m = /\b(?:answered|request) \(?([1-5]\d\d)\)?/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** The signal of anything thrown. */
export function signalOf(error: unknown): FailureSignal {
  const chain = chainOf(error);
  const top = chain[0] ?? { message: "" };
  const s: FailureSignal = { message: top.message, normalised: normaliseMessage(top.message), chain };
  if (isAppError(error)) {
    s.code = error.code;
    s.kind = error.kind;
    const d = (error.details ?? {}) as { upstream_status?: unknown; target?: unknown; upstream_body?: unknown };
    if (typeof d.upstream_status === "number") s.status = d.upstream_status;
    const target = str(d.target);
    if (target) s.target = target;
    // UpstreamError keeps the start of a refusal's body off the reply (`upstreamBody`), for matching only.
    const body = str(d.upstream_body) ?? str((error as { upstreamBody?: unknown }).upstreamBody);
    if (body) s.body = body.slice(0, MESSAGE_MAX);
  } else if (top.code) s.code = top.code;
  s.status ??= statusInMessage(s.message);
  return s;
}

/** The signal of fields (no error object): the classify API and records read back from the queue. */
export function signalFromFields(f: SignalFields): FailureSignal {
  const message = (f.message ?? "").slice(0, MESSAGE_MAX);
  const chain: ChainLink[] = [{ message, ...(f.code ? { code: f.code } : {}) }];
  for (const c of f.causes ?? [])
    chain.push(/^[A-Z][a-z]+[A-Za-z]*Error$/.test(c) ? { name: c, message: "" } : { code: c, message: "" });
  const s: FailureSignal = { message, normalised: normaliseMessage(message), chain };
  if (f.code) s.code = f.code;
  if (f.kind) s.kind = f.kind;
  const status = f.status ?? statusInMessage(message);
  if (status !== undefined) s.status = status;
  if (f.target) s.target = f.target;
  if (f.body) s.body = f.body.slice(0, MESSAGE_MAX);
  return s;
}
