/**
 * Run a piece of a test against a changed configuration (Redis on a closed port, S3 behind a
 * proxy), then put the file's own configuration back. The process-wide clients (S3, SQS, Redis,
 * the database pool) are dropped before and after, so each side sees clients built from its
 * own configuration.
 */
import { configOverrides, replaceConfigOverrides, setConfig } from "../../core/config.ts";
import { closePool } from "../../core/platform/db/index.ts";
import { closeSqs } from "../../core/platform/queue.ts";
import { closeRedis } from "../../core/platform/redis.ts";
import { closeS3 } from "../../core/platform/storage.ts";

async function dropClients(): Promise<void> {
  await Promise.all([closeS3(), closeSqs(), closeRedis(), closePool()]);
}

export async function withConfig<T>(overrides: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const original = configOverrides();
  await dropClients();
  setConfig(overrides);
  try {
    return await fn();
  } finally {
    await dropClients();
    // Every override goes back as it was, including variables only `overrides` named.
    replaceConfigOverrides(original);
  }
}
