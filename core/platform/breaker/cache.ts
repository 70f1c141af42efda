/**
 * The breakers' fast path: a copy of each breaker's state in Redis, shared by every instance, so
 * a call through a healthy (or cooling) breaker costs one Redis GET and no Postgres round trip.
 * Postgres stays the source of truth: every decision that changes a state (the probe, opening,
 * closing) is taken there, under the row's lock, and the copy is written once it committed.
 *
 * A copy carries the row's `version`; a write never replaces a newer version (a Lua check), so a
 * caller that read the row before another caller changed it cannot put the old state back. A copy
 * lives COPY_TTL_MS at most: if a write is lost (Redis away at that moment, the process killed
 * between commit and write) the copy is wrong for that long at most, then Postgres is read again.
 * Redis failing or slower than its command deadline (REDIS_COMMAND_TIMEOUT_MS) counts as a miss
 * (Postgres answers), and the client then leaves Redis alone for REDIS_BACKOFF_MS, so an outage
 * costs no latency per call.
 */
import { log } from "../logger.ts";
import { redis } from "../redis.ts";
import { RedisScript } from "../redis-client.ts";
import type { BreakerRow } from "./breaker.sql.ts";
import { cacheErrors } from "./metrics.ts";
import type { BreakerState } from "./states.ts";

export const COPY_TTL_MS = 5_000;

/** What the fast path needs of a row: its state, its failures and its deadlines (epoch ms). */
export interface Snapshot {
  version: number;
  state: BreakerState;
  failureCount: number;
  cooldownUntil: number | null;
  probeUntil: number | null;
}

export interface CacheKey {
  kind: string;
  tenantId: string | null;
  target: string;
}

/** A breaker with no row (it never failed): CLOSED, version 0. */
export const NO_ROW: Snapshot = { version: 0, state: "CLOSED", failureCount: 0, cooldownUntil: null, probeUntil: null };

export function snapshotOf(row: BreakerRow): Snapshot {
  return {
    version: Number(row.version),
    state: row.state,
    failureCount: row.failure_count,
    cooldownUntil: row.cooldown_until?.getTime() ?? null,
    probeUntil: row.probe_until?.getTime() ?? null,
  };
}

const redisKey = (k: CacheKey) => `breaker:${k.kind}:${k.tenantId ?? "-"}:${k.target}`;

// KEYS[1] the copy; ARGV: version, JSON, ttl ms. Replaces the copy unless it holds a newer version.
const WRITE = /* @__PURE__ */ new RedisScript(`local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)|'))
  if v and v > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1`);

async function onRedis<T>(kind: string, op: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    cacheErrors.inc({ breaker: kind });
    log.warn("circuit breaker cache (Redis) failed; Postgres answers", { op, breaker: kind, err });
    return undefined;
  }
}

/** The copy of a breaker's state; undefined when there is none or Redis is away. */
export async function readCopy(k: CacheKey): Promise<Snapshot | undefined> {
  const raw = await onRedis(k.kind, "read", () => redis().get(redisKey(k)));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw.slice(raw.indexOf("|") + 1)) as Snapshot;
  } catch {
    return undefined;
  }
}

/** Write a copy (unless a newer one is there). Never throws. */
export async function writeCopy(k: CacheKey, s: Snapshot): Promise<void> {
  await onRedis(k.kind, "write", () =>
    redis().eval(WRITE, [redisKey(k)], [String(s.version), JSON.stringify(s), String(COPY_TTL_MS)]),
  );
}
