/**
 * SQS as tests read it: a client of their own on the local SQS (not the code under test), and
 * what a queue holds, read and deleted. `takeMessages(queue, want)` polls (1 s each) until `want`
 * arrived and a poll came back empty, or two polls came back empty: with `want` 0 it empties the
 * queue. `receiveBatch` is one poll, for tests with a policy of their own.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { config } from "../../core/config.ts";

export function sqsReader(): SQSClient {
  return new SQSClient({
    endpoint: config().sqs.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
}

/** One receive of up to 10 messages of `queue`, each deleted at once; their bodies, parsed. */
export async function receiveBatch(sqs: SQSClient, queue: string, waitS: number): Promise<unknown[]> {
  const url = config().sqs.queueUrls[queue];
  const r = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: waitS }),
  );
  const msgs = r.Messages ?? [];
  if (msgs.length === 0) return [];
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }),
  );
  return msgs.map((m) => JSON.parse(m.Body ?? "null"));
}

export async function takeMessages<T>(queue: string, want = 0): Promise<T[]> {
  const sqs = sqsReader();
  const out: T[] = [];
  try {
    for (let empty = 0; empty < 2 && (out.length < want || empty === 0); ) {
      const got = await receiveBatch(sqs, queue, 1);
      if (got.length === 0) empty++;
      else out.push(...(got as T[]));
    }
    return out;
  } finally {
    sqs.destroy();
  }
}
