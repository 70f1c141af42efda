/**
 * The process's Redis client (ioredis), created on first use. Every key gets the stage's prefix
 * (`aos:<stage>:`) so stages and test files sharing one Redis never see each other's keys.
 * Note: ioredis applies the prefix to key arguments, not to KEYS/SCAN patterns.
 */
import { Redis } from "ioredis";
import { config } from "../config.ts";

let client: Redis | undefined;

export function redis(): Redis {
  if (!client) {
    const c = config();
    client = new Redis(c.redisUrl, {
      keyPrefix: c.redisPrefix,
      // Fail fast instead of queueing commands forever while Redis is down: callers decide
      // whether to fail open (metrics, caches) or to answer 503.
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: true,
      lazyConnect: false,
    });
    client.on("error", () => {});
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
