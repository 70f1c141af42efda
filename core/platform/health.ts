/**
 * Health of what AOS depends on: Postgres, Redis, S3 and SQS, each probed in parallel with its
 * own timeout. Beside them, the circuit breakers that are not CLOSED (the cost simulator's V2
 * drift breaker, kind `costsim`; skills' targets, kind `skill`), counted by kind, scope and state:
 * they say what AOS has turned off, never make it unhealthy (its own dependencies do), and name no
 * target (a target may be a tenant's host; GET /api/v1/breakers lists them to a key). A check never throws; it reports `ok: false` with a short error that carries no
 * connection string, password or signed URL, so the result can go straight into a public reply.
 *
 * @example
 *   const h = await checkHealth();
 *   if (h.status !== "ok") log.warn("degraded", { down: downChecks(h) });
 */
import { performance } from "node:perf_hooks";
import * as z from "zod/mini";
import { isAppError } from "../errors.ts";
import { BreakerStates, stateAt, summarizeBreakers } from "./breaker/index.ts";
import { clock } from "./clock.ts";
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

/** Breakers of one kind, scope and state (OPEN still cooling down; HALF_OPEN once it may recover). */
export interface BreakerCount {
  kind: string;
  scope: "shared" | "tenant";
  state: "OPEN" | "HALF_OPEN";
  count: number;
  /** The earliest end of their cooldowns (OPEN), or null. */
  until: string | null;
}

export interface HealthReport {
  status: "ok" | "degraded";
  checks: Record<CheckName, CheckResult>;
  /** Breakers not CLOSED; null when they could not be read (Postgres down: its check says so). */
  breakers: BreakerCount[] | null;
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
  breakers: z.nullable(
    z
      .array(
        z.object({
          kind: z.string().check(z.describe("costsim: the V2 drift breaker (V2 disabled); skill: a skill's target")),
          scope: z.enum(["shared", "tenant"]),
          state: z.enum(["OPEN", "HALF_OPEN"]),
          count: z.int(),
          until: z.nullable(z.string()),
        }),
      )
      .check(z.describe("Circuit breakers not CLOSED; they never turn /health 503 (null: could not be read)")),
  ),
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

/** The breakers not CLOSED, counted; an OPEN one whose cooldown is over counts as HALF_OPEN. */
async function breakerCounts(timeoutMs: number): Promise<BreakerCount[] | null> {
  let out: BreakerCount[] | null = null;
  const r = await runCheck(async () => {
    const now = clock().nowMs();
    const counts = new Map<string, BreakerCount>();
    for (const row of await summarizeBreakers()) {
      const state = stateAt({ state: row.state, cooldownUntil: row.cooldown_until?.getTime() ?? null }, now);
      const cooling = state === BreakerStates.open;
      const scope = row.tenant_scoped ? "tenant" : "shared";
      const k = `${row.kind}|${scope}|${state}`;
      const c = counts.get(k) ?? {
        kind: row.kind,
        scope,
        state: state as BreakerCount["state"],
        count: 0,
        until: null,
      };
      c.count += row.n;
      if (cooling && row.cooldown_until && (!c.until || row.cooldown_until.toISOString() < c.until))
        c.until = row.cooldown_until.toISOString();
      counts.set(k, c);
    }
    out = [...counts.values()].sort((a, b) =>
      `${a.kind}${a.scope}${a.state}`.localeCompare(`${b.kind}${b.scope}${b.state}`),
    );
  }, timeoutMs);
  return r.ok ? out : null;
}

/** Probe every dependency in parallel; `degraded` when any of them fails or times out. */
export async function checkHealth(o: HealthOptions = {}): Promise<HealthReport> {
  const timeoutMs = o.timeoutMs ?? 2000;
  const names = Object.keys(probes) as CheckName[];
  const [results, breakers] = await Promise.all([
    Promise.all(names.map((n) => runCheck(probes[n], timeoutMs))),
    breakerCounts(timeoutMs),
  ]);
  const checks = Object.fromEntries(names.map((n, i) => [n, results[i]])) as Record<CheckName, CheckResult>;
  return { status: results.every((r) => r.ok) ? "ok" : "degraded", checks, breakers };
}

/** Names of the checks that failed, for a 503 reply or a log line. */
export function downChecks(report: HealthReport): CheckName[] {
  return (Object.keys(report.checks) as CheckName[]).filter((n) => !report.checks[n].ok);
}
