/**
 * The JobItems worker. The factory hands each record to the callback separately, all in the same
 * turn of the event loop; they are gathered and given to `Jobs.processMessages` together, so the
 * batch's items are claimed in one statement. A record whose outcome could not be recorded is
 * thrown back as retryable: reported in batchItemFailures, SQS redelivers it.
 */
import { UnavailableError } from "../../core/errors.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { ItemMessage, type ItemOutcome } from "../../core/jobs/index.ts";
import { sqsHandler } from "../_lib/sqs.ts";

interface Waiting {
  messageId: string;
  body: ItemMessage;
  resolve: (o: ItemOutcome) => void;
  reject: (e: unknown) => void;
}

let gathering: Waiting[] | undefined;

/** This record's outcome, processed with every record handed over in the same turn. */
function processTogether(messageId: string, body: ItemMessage): Promise<ItemOutcome> {
  return new Promise((resolve, reject) => {
    if (!gathering) {
      const batch: Waiting[] = [];
      gathering = batch;
      setImmediate(() => {
        gathering = undefined;
        Jobs.processMessages(batch.map((w) => ({ messageId: w.messageId, body: w.body }))).then(
          (outcomes) => {
            for (const w of batch) w.resolve(outcomes.get(w.messageId) ?? "retry");
          },
          (e: unknown) => {
            for (const w of batch) w.reject(e);
          },
        );
      });
    }
    gathering.push({ messageId, body, resolve, reject });
  });
}

/** Every record of a batch at once (routes.ts: batchSize 10). */
export const handler = sqsHandler({ queue: "JobItems", body: ItemMessage, concurrency: 10 }, async (body, record) => {
  const outcome = await processTogether(record.messageId, body);
  if (outcome === "retry") {
    throw new UnavailableError("jobs.item_not_recorded", `Item ${body.item_id}: its outcome was not recorded`);
  }
});
