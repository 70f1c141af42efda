/**
 * What a queue consumer answers for one record, as a value (house style 9; pg-boss dispositions,
 * Powertools batch):
 *   done       acknowledged;
 *   retry      reported in `batchItemFailures`: SQS delivers it again and, after the queue's
 *              maxReceiveCount, moves it to the DLQ;
 *   permanent  it can never succeed: recorded once in `queue_failures` (with its tenant),
 *              metered, and acknowledged.
 * Core functions that consume messages return these; the SQS factory (functions/_lib/sqs.ts)
 * turns them into the batch response. A throw is not an outcome: the factory answers `retry`
 * for every record the throw concerned.
 *
 * @example
 *   if (!row) return permanent("exports.not_found", `Export ${id} does not exist`);
 *   if (busy) return retry("another worker holds the lease");
 *   return done();
 */

export type QueueOutcome =
  | { readonly outcome: "done" }
  | { readonly outcome: "retry"; readonly reason: string }
  | { readonly outcome: "permanent"; readonly code: string; readonly reason: string };

export type OutcomeName = QueueOutcome["outcome"];

const DONE: QueueOutcome = Object.freeze({ outcome: "done" });

/** Acknowledge the record. */
export const done = (): QueueOutcome => DONE;

/** Deliver the record again later (SQS's visibility timeout), then to the DLQ. */
export const retry = (reason: string): QueueOutcome => ({ outcome: "retry", reason });

/** The record can never succeed: record it once in queue_failures, then acknowledge it. */
export const permanent = (code: string, reason: string): QueueOutcome => ({ outcome: "permanent", code, reason });
