import * as Failures from "../../core/failures/index.ts";
import { FailureRecordMessage } from "../../core/failures/index.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

/** Failure records Postgres did not take in time, written once it answers (idempotent by id). */
export const handler = sqsBatchHandler({
  queue: "FailureRecords",
  schema: FailureRecordMessage,
  handle: (msg) => Failures.writeQueued(msg),
});
