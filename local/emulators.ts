/**
 * In-process stand-ins for S3 (s3rver) and SQS (fauxqs), and the bucket and queues the stacks
 * would create: every queue of functions/routes.ts with its DLQ and redrive policy.
 *
 * `ensureBucket` / `ensureQueues` speak the plain S3 and SQS APIs, so they also provision an
 * emulator someone else runs (S3_ENDPOINT / SQS_ENDPOINT set).
 */
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import S3rver from "s3rver";
import { type QueueConsumer, queues } from "../functions/routes.ts";

/**
 * s3rver accepts these; fauxqs accepts anything. A function, not a shared object: the SDK writes
 * into the credentials object it is given (and throws if that object is frozen).
 */
export const localCredentials = () => ({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });

export interface Emulators {
  s3Endpoint: string;
  sqsEndpoint: string;
  bucket: string;
  /** Queue name -> URL, DLQs under `<name>Dlq`. */
  queueUrls: Record<string, string>;
  fauxqs: FauxqsServer;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  bucket: string;
  /** Directory s3rver keeps objects in. */
  s3Dir: string;
  s3Port?: number;
  sqsPort?: number;
  /** Queue names get this prefix (tests give each run its own). */
  queuePrefix?: string;
}

/** Rejects with EADDRINUSE when the port is taken (s3rver itself would crash the process instead). */
function assertPortFree(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Start s3rver on 127.0.0.1 (port 0 = any free port) with `bucket` created. */
export async function startS3(o: { bucket: string; s3Dir: string; port?: number }) {
  mkdirSync(o.s3Dir, { recursive: true });
  if (o.port) await assertPortFree(o.port, "127.0.0.1");
  const s3 = new S3rver({
    port: o.port ?? 0,
    address: "127.0.0.1",
    silent: true,
    directory: o.s3Dir,
    configureBuckets: [{ name: o.bucket }],
  });
  const addr = await s3.run();
  return { endpoint: `http://127.0.0.1:${addr.port}`, stop: () => s3.close() };
}

/** Start fauxqs on 127.0.0.1 (port 0 = any free port). Messages live in memory only. */
export async function startSqs(o: { port?: number }) {
  const fauxqs = await startFauxqs({ port: o.port ?? 0, host: "127.0.0.1", logger: false });
  return { endpoint: `http://127.0.0.1:${fauxqs.port}`, fauxqs, stop: () => fauxqs.stop() };
}

/** Where and how to reach S3 or SQS (credentials: the SDK's default chain when absent). */
export interface ClientOptions {
  endpoint: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Create the bucket unless it exists. */
export async function ensureBucket(client: ClientOptions, bucket: string): Promise<void> {
  const s3 = new S3Client({ ...client, forcePathStyle: true });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw e;
  } finally {
    s3.destroy();
  }
}

/**
 * Create each queue (and its `-dlq`, with the redrive policy) as stacks/queues.ts does; CreateQueue
 * returns the existing URL when the queue is there already. Returns name -> URL, DLQs as `<name>Dlq`.
 */
export async function ensureQueues(
  client: ClientOptions,
  consumers: readonly QueueConsumer[] = queues,
  prefix = "",
): Promise<Record<string, string>> {
  const sqs = new SQSClient(client);
  const urls: Record<string, string> = {};
  try {
    for (const q of consumers) {
      const name = `${prefix}${q.name}`;
      const dlq = await sqs.send(
        new CreateQueueCommand({ QueueName: `${name}-dlq`, Attributes: { MessageRetentionPeriod: "1209600" } }),
      );
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
      );
      const main = await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(q.visibilityTimeoutS),
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: Attributes?.QueueArn,
              maxReceiveCount: q.maxReceiveCount,
            }),
          },
        }),
      );
      urls[q.name] = main.QueueUrl as string;
      urls[`${q.name}Dlq`] = dlq.QueueUrl as string;
    }
  } finally {
    sqs.destroy();
  }
  return urls;
}

/** Both emulators on their own ports, provisioned (used by the test harness). */
export async function startEmulators(o: EmulatorOptions): Promise<Emulators> {
  const s3 = await startS3({ bucket: o.bucket, s3Dir: o.s3Dir, port: o.s3Port });
  let sqs: Awaited<ReturnType<typeof startSqs>>;
  try {
    sqs = await startSqs({ port: o.sqsPort });
  } catch (e) {
    await s3.stop();
    throw e;
  }
  const queueUrls = await ensureQueues(
    { endpoint: sqs.endpoint, region: "us-east-1", credentials: localCredentials() },
    queues,
    o.queuePrefix,
  );
  return {
    s3Endpoint: s3.endpoint,
    sqsEndpoint: sqs.endpoint,
    bucket: o.bucket,
    queueUrls,
    fauxqs: sqs.fauxqs,
    async stop() {
      await Promise.allSettled([s3.stop(), sqs.stop()]);
    },
  };
}
