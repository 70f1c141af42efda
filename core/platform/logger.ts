/**
 * Structured JSON logs, one object per line, carrying the request id, tenant and correlation id
 * of the current context. Values under secret-looking keys are redacted before they are written,
 * and API keys (`aos_...`) and passwords in URLs (`postgres://user:***@host`) are masked
 * wherever they appear. An error is written with its cause chain (name, message and code of each
 * cause), so a 500's line names the database error under it.
 */
import { config } from "../config.ts";
import { useContext } from "../context.ts";

type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const secretKey = /pass(word)?|secret|token|authorization|api[-_]?key|cookie|^key$|signature/i;
const apiKeyPattern = /aos_[A-Za-z0-9_-]{8,}/g;
const urlPassword = /(\/\/[^:/@\s]+):[^@\s]*@/g;
/** Causes written below an error (a cycle or a very deep chain stops there). */
const MAX_CAUSES = 5;

export type LogSink = (line: string) => void;
let sink: LogSink = (line) => process.stdout.write(`${line}\n`);

/** Send log lines elsewhere (tests capture them to prove secrets never appear). */
export function setLogSink(s: LogSink): LogSink {
  const prev = sink;
  sink = s;
  return prev;
}

const redactText = (text: string) => text.replace(apiKeyPattern, "aos_***").replace(urlPassword, "$1:***@");

/** An error as logged: name, message, code (a SQLSTATE, an errno name), then its causes; a stack on the outermost. */
function errorFields(e: Error, causes = 0): Record<string, unknown> {
  const code = (e as { code?: unknown }).code;
  const out: Record<string, unknown> = { name: e.name, message: redactText(e.message) };
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (causes === 0) out.stack = e.stack ? redactText(e.stack.split("\n").slice(0, 6).join("\n")) : undefined;
  const cause = e.cause;
  if (cause !== undefined && causes < MAX_CAUSES) {
    out.cause = cause instanceof Error ? errorFields(cause, causes + 1) : redact(cause, 5);
  }
  return out;
}

function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) return errorFields(value);
  if (!value || typeof value !== "object" || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (order[level] < order[config().logLevel]) return;
  const ctx = useContext();
  const actor = ctx?.actor;
  const line: Record<string, unknown> = {
    level,
    time: new Date().toISOString(),
    msg: redact(msg),
    requestId: ctx?.requestId,
    correlationId: ctx?.correlationId,
    tenantId: actor && actor.type !== "public" ? actor.tenantId : undefined,
    ...(redact(fields ?? {}) as Record<string, unknown>),
  };
  sink(JSON.stringify(line));
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write("debug", msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write("info", msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write("warn", msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write("error", msg, fields),
};
