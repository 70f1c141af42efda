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

export async function closeRedis(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.quit().catch(() => c.disconnect());
}
