/**
 * In-process stand-ins for S3 (s3rver) and SQS (fauxqs), with the bucket and every queue of
 * functions/routes.ts (each with its DLQ and redrive policy) created as the stacks would.
 */
import { mkdirSync } from "node:fs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import S3rver from "s3rver";
import { queues } from "../functions/routes.ts";

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

export async function startEmulators(o: EmulatorOptions): Promise<Emulators> {
  mkdirSync(o.s3Dir, { recursive: true });
  const s3 = new S3rver({
    port: o.s3Port ?? 0,
    address: "127.0.0.1",
    silent: true,
    directory: o.s3Dir,
    configureBuckets: [{ name: o.bucket }],
  });
  const s3Addr = await s3.run();
  const fauxqs = await startFauxqs({ port: o.sqsPort ?? 0, host: "127.0.0.1", logger: false });
  const queueUrls: Record<string, string> = {};
  for (const q of queues) {
    const name = `${o.queuePrefix ?? ""}${q.name}`;
    const dlq = fauxqs.createQueue(`${name}-dlq`, { attributes: { MessageRetentionPeriod: "1209600" } });
    const main = fauxqs.createQueue(name, {
      attributes: {
        VisibilityTimeout: String(q.visibilityTimeoutS),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: q.maxReceiveCount }),
      },
    });
    queueUrls[q.name] = main.queueUrl;
    queueUrls[`${q.name}Dlq`] = dlq.queueUrl;
  }
  return {
    s3Endpoint: `http://127.0.0.1:${s3Addr.port}`,
    sqsEndpoint: `http://127.0.0.1:${fauxqs.port}`,
    bucket: o.bucket,
    queueUrls,
    fauxqs,
    async stop() {
      await Promise.allSettled([s3.close(), fauxqs.stop()]);
    },
  };
}
