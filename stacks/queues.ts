/**
 * One SQS queue per consumer of functions/routes.ts, each with its own dead-letter queue and
 * exactly one subscriber that reports partial batch failures (`batchItemFailures`).
 */
import { queues as consumers } from "../functions/routes.ts";
import { functionProps, type LinkTargets } from "./function.ts";
import { exportsBucket, slackWebhookUrl, voyageApiKey, webhookSigningSecret } from "./storage.ts";

/** 14 days, the SQS maximum: a dead letter waits for a person, and its age counts from its first enqueue. */
const DLQ_RETENTION_S = 14 * 24 * 3600;

/** Queue name as in the route table (`Events`) -> its queue (SST name and link `EventsQueue`). */
export const queues: Record<string, sst.aws.Queue> = {};
/** Queue name -> its dead-letter queue (`EventsDlq`). */
export const dlqs: Record<string, sst.aws.Queue> = {};

for (const c of consumers) {
  const dlq = new sst.aws.Queue(`${c.name}Dlq`, {
    transform: { queue: { messageRetentionSeconds: DLQ_RETENTION_S } },
  });
  dlqs[c.name] = dlq;
  queues[c.name] = new sst.aws.Queue(`${c.name}Queue`, {
    visibilityTimeout: `${c.visibilityTimeoutS} seconds`,
    dlq: { queue: dlq.arn, retry: c.maxReceiveCount },
  });
}

/**
 * Every resource an entry of the route table may name in `links`. Built once all queues exist,
 * so a consumer may link any queue (its own included).
 */
export const linkTargets = {
  Exports: exportsBucket,
  SlackWebhookUrl: slackWebhookUrl,
  WebhookSigningSecret: webhookSigningSecret,
  VoyageApiKey: voyageApiKey,
  ...Object.fromEntries(Object.entries(queues).map(([name, q]) => [`${name}Queue`, q])),
} as LinkTargets;

for (const c of consumers) {
  // A queue takes one subscriber only (a second `subscribe` throws).
  queues[c.name]!.subscribe(functionProps(c, linkTargets), {
    batch: { size: c.batchSize, window: `${c.batchWindowS} seconds`, partialResponses: true },
  });
}
