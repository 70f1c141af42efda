/**
 * The errors of failures that reach the catalog as data rather than as thrown errors: a job
 * item's `error` jsonb (as its worker reported it) and a queue record's permanent failure. Built
 * here once, so that the live recording (core/jobs/item-failure.ts, functions/_lib/sqs.ts) and the
 * backfill of historical rows (backfill.ts) give the matcher the same error for the same failure.
 */

/** A job item's failure: `{ code, message }` or any JSON the worker reported. */
export function jobItemError(error: Record<string, unknown>): Error {
  const code = typeof error.code === "string" && error.code ? error.code : undefined;
  const message = typeof error.message === "string" ? error.message : JSON.stringify(error);
  return Object.assign(new Error(message.slice(0, 2000)), { name: "JobItemFailure" }, code ? { code } : {});
}

/** A queue record that failed permanently (poison, a body its schema refuses, `permanent(code, reason)`). */
export function queueFailureError(code: string, reason: string): Error {
  return Object.assign(new Error(reason), { name: "QueuePermanentFailure", code });
}
