/**
 * The process's Redis client (redis-client.ts), created on first use. Every key gets the stage's
 * prefix (`aos:<stage>:`) so stages and test files sharing one Redis never see each other's keys.
 * Every command is bounded by REDIS_COMMAND_TIMEOUT_MS; after a failure the client refuses
 * commands for REDIS_BACKOFF_MS, then reconnects on the next one. Callers decide what a
 * `RedisUnavailableError` means for them: a cache reads Postgres, metrics count a dropped flush,
 * `kv_store` answers 503.
 */
import { config } from "../config.ts";
import { RedisClient } from "./redis-client.ts";

export type { RedisClient } from "./redis-client.ts";

let client: RedisClient | undefined;

export function redis(): RedisClient {
  if (!client) {
    const c = config();
    client = new RedisClient(c.redisUrl, {
      keyPrefix: c.redisPrefix,
      commandTimeoutMs: c.redisCommandTimeoutMs,
      backoffMs: c.redisBackoffMs,
    });
  }
  return client;
}

/**
 * Close the client politely (QUIT), but never wait more than `graceMs` for it: a Redis that
 * accepts connections and never answers would otherwise hold the caller forever.
 */
export async function closeRedis(graceMs = 1000): Promise<void> {
  const c = client;
  client = undefined;
  if (!c) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([c.quit().catch(() => {}), late]);
  clearTimeout(timer);
  c.disconnect();
}
