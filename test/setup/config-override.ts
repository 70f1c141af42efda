/**
 * Run a piece of a test against a changed configuration (Redis on a closed port, S3 behind a
 * proxy), then put the file's own configuration back. The process-wide clients (S3, SQS, Redis,
 * the database pool) are dropped before and after, so each side sees clients built from its
 * own configuration.
 */
import { type Config, config, setConfig } from "../../core/config.ts";
import { closePool } from "../../core/platform/db/index.ts";
import { closeSqs } from "../../core/platform/queue.ts";
import { closeRedis } from "../../core/platform/redis.ts";
import { closeS3 } from "../../core/platform/storage.ts";

/** The environment that reproduces `c` (the variables the test harness sets, and the S3/SQS ones). */
export function envOf(c: Config): Record<string, string> {
  const env: Record<string, string> = {
    STAGE: c.stage,
    LOG_LEVEL: c.logLevel,
    DATABASE_URL: c.databaseUrl,
    DB_DRIVER: c.dbDriver,
    DB_POOL_MAX: String(c.dbPoolMax),
    REDIS_URL: c.redisUrl,
    S3_BUCKET: c.s3.bucket,
    S3_FORCE_PATH_STYLE: String(c.s3.forcePathStyle),
    AWS_REGION: c.s3.region,
    PRESIGN_TTL_S: String(c.s3.presignTtlS),
    QUEUE_URLS: JSON.stringify(c.sqs.queueUrls),
  };
  if (c.s3.endpoint) env.S3_ENDPOINT = c.s3.endpoint;
  if (c.sqs.endpoint) env.SQS_ENDPOINT = c.sqs.endpoint;
  return env;
}

async function dropClients(): Promise<void> {
  await Promise.all([closeS3(), closeSqs(), closeRedis(), closePool()]);
}

export async function withConfig<T>(overrides: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const original = envOf(config());
  await dropClients();
  setConfig({ ...original, ...overrides });
  try {
    return await fn();
  } finally {
    await dropClients();
    setConfig(original);
  }
}
