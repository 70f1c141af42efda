/**
 * Health of what AOS depends on: Postgres, Redis, S3 and SQS, each probed in parallel with its
 * own timeout. A check never throws; it reports `ok: false` with a short error that carries no
 * connection string, password or signed URL, so the result can go straight into a public reply.
 *
 * @example
 *   const h = await checkHealth();
 *   if (h.status !== "ok") log.warn("degraded", { down: downChecks(h) });
 */
import { performance } from "node:perf_hooks";
import * as z from "zod/mini";
import { isAppError } from "../errors.ts";
import { query } from "./db/index.ts";
import { checkSqs } from "./queue.ts";
import { redis } from "./redis.ts";
import { checkS3 } from "./s3-health.ts";

export type CheckName = "postgres" | "redis" | "s3" | "sqs";

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: "ok" | "degraded";
  checks: Record<CheckName, CheckResult>;
}

const Check = z.object({
  ok: z.boolean(),
  latencyMs: z.number().check(z.describe("Milliseconds the probe took")),
  error: z.optional(z.string().check(z.describe("What failed, without credentials or signed URLs"))),
});

/** The reply of `GET /health` (200 when every check is ok, else 503 with the same shape). */
export const HealthReply = z.object({
  status: z.enum(["ok", "degraded"]),
  checks: z.object({ postgres: Check, redis: Check, s3: Check, sqs: Check }),
  down: z.array(z.enum(["postgres", "redis", "s3", "sqs"])).check(z.describe("The checks that failed")),
});

export interface HealthOptions {
  /** Per-check timeout in milliseconds (default 2000). */
  timeoutMs?: number;
}

type Probe = (signal: AbortSignal) => Promise<unknown>;

const probes: Record<CheckName, Probe> = {
  postgres: () => query("select 1"),
  redis: () => redis().ping(),
  s3: (signal) => checkS3(signal),
  sqs: (signal) => checkSqs(signal),
};

/** Remove what must never leave the process: credentials in URLs, key=value secrets, signatures. */
export function scrub(message: string): string {
  return message
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1***@")
    .replace(/\b(password|passwd|pwd|secret|token|signature|x-amz-signature|x-amz-credential)=[^\s&;,]*/gi, "$1=***")
    .replace(/aos_[A-Za-z0-9_-]{8,}/g, "aos_***")
    .slice(0, 300);
}

function describe(e: unknown): string {
  if (isAppError(e)) return scrub(`${e.code}: ${e.message}`);
  if (e instanceof Error) return scrub(`${e.name}: ${e.message}`);
  return scrub(String(e));
}

const roundMs = (ms: number) => Math.round(ms * 10) / 10;

// Latency is a measurement of real time, not business time: it does not go through the clock port.
async function runCheck(probe: Probe, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`no answer within ${timeoutMs} ms`);
      e.name = "Timeout";
      ac.abort(e);
      reject(e);
    }, timeoutMs);
  });
  try {
    await Promise.race([probe(ac.signal), timeout]);
    return { ok: true, latencyMs: roundMs(performance.now() - started) };
  } catch (e) {
    return {
      ok: false,
      latencyMs: roundMs(performance.now() - started),
      error: describe(ac.signal.aborted ? ac.signal.reason : e),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Probe every dependency in parallel; `degraded` when any of them fails or times out. */
export async function checkHealth(o: HealthOptions = {}): Promise<HealthReport> {
  const timeoutMs = o.timeoutMs ?? 2000;
  const names = Object.keys(probes) as CheckName[];
  const results = await Promise.all(names.map((n) => runCheck(probes[n], timeoutMs)));
  const checks = Object.fromEntries(names.map((n, i) => [n, results[i]])) as Record<CheckName, CheckResult>;
  return { status: results.every((r) => r.ok) ? "ok" : "degraded", checks };
}

/** Names of the checks that failed, for a 503 reply or a log line. */
export function downChecks(report: HealthReport): CheckName[] {
  return (Object.keys(report.checks) as CheckName[]).filter((n) => !report.checks[n].ok);
}
