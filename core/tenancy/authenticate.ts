/**
 * API key authentication: format check, lookup by prefix (cached in Redis for a few seconds),
 * constant-time hash comparison, then revocation, expiry and tenant status. Key use is noted in
 * Redis and written to `api_keys.last_used_at` by the KeyUsageFlush cron, so the hot path does no
 * database write.
 */
import { timingSafeEqual } from "node:crypto";
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { redis } from "../platform/redis.ts";
import { RedisScript } from "../platform/redis-client.ts";
import { ExpiredKeyError, InvalidKeyError, RevokedKeyError, TenantSuspendedError } from "./errors.ts";
import { authCacheKey, hashKey, KEY_PATTERN } from "./keys.ts";
import { tenancyMetrics } from "./metrics.ts";
import type { Role } from "./schema.ts";
import type { KeyAuthRow } from "./tenancy.sql.ts";
import * as sql from "./tenancy.sql.ts";

export interface KeyActor {
  keyId: string;
  tenantId: string;
  role: Role;
}

export const KEY_USAGE_HASH = "keys:last_used";

interface Cached {
  id: string;
  tenantId: string;
  role: Role;
  keyHash: string;
  expiresAt: number | null;
  revokedAt: number | null;
  tenantStatus: "active" | "suspended";
}

async function lookup(prefix: string): Promise<Cached | null> {
  const ttl = config().authCacheTtlS;
  if (ttl > 0) {
    try {
      const hit = await redis().get(authCacheKey(prefix));
      if (hit) return JSON.parse(hit) as Cached | null;
    } catch (e) {
      log.warn("auth cache unavailable; reading Postgres", { err: e });
    }
  }
  const { rows } = await query<KeyAuthRow>(sql.keyForAuth, [prefix]);
  const row = rows[0];
  const value: Cached | null = row
    ? {
        id: row.id,
        tenantId: row.tenantId,
        role: row.role,
        keyHash: row.keyHash.toString("hex"),
        expiresAt: row.expiresAt?.getTime() ?? null,
        revokedAt: row.revokedAt?.getTime() ?? null,
        tenantStatus: row.tenantStatus,
      }
    : null;
  // Misses are cached too (as null), so a flood of bad keys does not reach Postgres.
  if (ttl > 0)
    await redis()
      .set(authCacheKey(prefix), JSON.stringify(value), "EX", ttl)
      .catch(() => {});
  return value;
}

/** Count a refusal by reason, then throw it. */
function refuse(reason: "invalid" | "revoked" | "expired" | "suspended", err: Error): never {
  tenancyMetrics.authFailures.inc({ reason });
  throw err;
}

export async function authenticate(key: string): Promise<KeyActor> {
  const m = KEY_PATTERN.exec(key);
  if (!m?.[1]) refuse("invalid", new InvalidKeyError());
  const found = await lookup(m[1]);
  if (!found || !timingSafeEqual(Buffer.from(found.keyHash, "hex"), hashKey(key)))
    refuse("invalid", new InvalidKeyError());
  if (found.revokedAt !== null) refuse("revoked", new RevokedKeyError());
  const now = clock().nowMs();
  if (found.expiresAt !== null && found.expiresAt <= now) refuse("expired", new ExpiredKeyError());
  if (found.tenantStatus !== "active") refuse("suspended", new TenantSuspendedError());
  void redis()
    .hset(KEY_USAGE_HASH, found.id, String(now))
    .catch(() => {});
  return { keyId: found.id, tenantId: found.tenantId, role: found.role };
}

const TAKE_HASH = /* @__PURE__ */ new RedisScript(
  "local v = redis.call('HGETALL', KEYS[1]); redis.call('DEL', KEYS[1]); return v",
);

/**
 * Move the key-use marks from Redis to `api_keys.last_used_at` (run every minute). The hash is
 * taken and deleted atomically; if the database write fails the marks are put back.
 */
export async function flushKeyUsage(): Promise<{ keys: number }> {
  const r = redis();
  const taken = (await r.eval(TAKE_HASH, [KEY_USAGE_HASH])) as string[];
  if (!taken.length) return { keys: 0 };
  const ids: string[] = [];
  const at: Date[] = [];
  for (let i = 0; i + 1 < taken.length; i += 2) {
    ids.push(taken[i] as string);
    at.push(new Date(Number(taken[i + 1])));
  }
  try {
    await query(sql.touchKeys, [ids, at]);
  } catch (e) {
    await r.call(["HSET", r.key(KEY_USAGE_HASH), ...taken]).catch(() => {});
    throw e;
  }
  return { keys: ids.length };
}
