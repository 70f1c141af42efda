/**
 * The FailureRecords queue's consumer: write a record Postgres did not take in time. Idempotent
 * (the record's own id, `on conflict do nothing`); a database still away is a retry (SQS
 * redelivers it after the visibility timeout).
 */
import { isAppError } from "../errors.ts";
import { done, type QueueOutcome, retry } from "../platform/queue-outcome.ts";
import { writeRecord } from "./record.ts";
import type { FailureRecordMessage } from "./schema.ts";

export async function writeQueued(msg: FailureRecordMessage): Promise<QueueOutcome> {
  try {
    await writeRecord(msg);
    return done();
  } catch (e) {
    if (isAppError(e) && e.retryable) return retry(`${e.code}: failure record ${msg.id} not written yet`);
    throw e;
  }
}
