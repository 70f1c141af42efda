/**
 * Runs in each test file's worker before its tests: a database cloned from the migrated template
 * (owned by the owner role; DATABASE_URL connects as the application role, as a deployed AOS
 * does, and DATABASE_MIGRATION_URL as the owner), a Redis prefix, a bucket and queues (with DLQs)
 * of its own, and the configuration pointing at them. Nothing is shared between files, so they
 * run in parallel.
 */
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { setConfig } from "../../core/config.ts";
import { closePool } from "../../core/platform/db/index.ts";
import { closeRedis, redis } from "../../core/platform/redis.ts";
import { queues } from "../../functions/routes.ts";
import { asUser } from "../../local/db-roles.ts";

const env = inject("aos");
const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
export const testDb = `aos_t_${id}`;
const stage = `t-${id.replace("_", "-")}`;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${env.pgBase}/postgres` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const creds = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

beforeAll(async () => {
  await admin((c) => c.query(`create database "${testDb}" owner ${env.roles.owner} template "${env.templateDb}"`));
  const bucket = `aos-${stage}`.slice(0, 63);
  const s3 = new S3Client({ endpoint: env.s3Endpoint, forcePathStyle: true, region: "us-east-1", credentials: creds });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  const sqs = new SQSClient({ endpoint: env.sqsEndpoint, region: "us-east-1", credentials: creds });
  const queueUrls: Record<string, string> = {};
  for (const q of queues) {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${stage}-${q.name}-dlq` }));
    const dlqArn = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const main = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${stage}-${q.name}`,
        Attributes: {
          VisibilityTimeout: String(q.visibilityTimeoutS),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
            maxReceiveCount: q.maxReceiveCount,
          }),
        },
      }),
    );
    queueUrls[q.name] = main.QueueUrl as string;
    queueUrls[`${q.name}Dlq`] = dlq.QueueUrl as string;
  }
  sqs.destroy();
  setConfig({
    STAGE: stage,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    DATABASE_URL: asUser(env.pgBase, env.roles.app, testDb),
    DATABASE_MIGRATION_URL: asUser(env.pgBase, env.roles.owner, testDb),
    DB_POOL_MAX: "20",
    REDIS_URL: env.redisUrl,
    // Production's 200 ms Redis deadline is for a Lambda serving one request; here a dozen test
    // workers share two cores, and a pause past 200 ms put a file's client in its backoff and
    // failed the test after it (skill-breaker, blackboard). Tests of the deadline set their own.
    REDIS_COMMAND_TIMEOUT_MS: "2000",
    S3_ENDPOINT: env.s3Endpoint,
    S3_BUCKET: bucket,
    SQS_ENDPOINT: env.sqsEndpoint,
    QUEUE_URLS: JSON.stringify(queueUrls),
  });
});

afterAll(async () => {
  await closePool();
  try {
    // `call` sends its arguments as they are: KEYS gets the prefixed pattern, DEL the full keys.
    const r = redis();
    const keys = (await r.call(["KEYS", r.key("*")])) as string[];
    if (keys.length) await r.call(["DEL", ...keys]);
  } catch {}
  await closeRedis();
  await admin((c) => c.query(`drop database if exists "${testDb}" with (force)`));
});
