/**
 * The JobItems worker. The factory groups the batch by tenant (a v0 message, which names none, by
 * job) and hands each group to `Jobs.processMessages` together, so a group's items are claimed in
 * one statement. An item whose outcome could not be recorded is retried: SQS redelivers it.
 */
import * as Jobs from "../../core/jobs/index.ts";
import { ItemMessageIn } from "../../core/jobs/index.ts";
import { done, retry } from "../../core/platform/queue-outcome.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

/** Every record of a batch at once (routes.ts: batchSize 10). */
export const handler = sqsBatchHandler({
  queue: "JobItems",
  schema: ItemMessageIn,
  groupBy: (m) => m.tenantId ?? `job:${m.jobId}`,
  handleGroup: async (records) => {
    const outcomes = await Jobs.processMessages(records.map((r) => ({ messageId: r.record.messageId, body: r.body })));
    return records.map((r) =>
      outcomes.get(r.record.messageId) === "done"
        ? done()
        : retry(`item ${r.body.itemId}: its outcome was not recorded`),
    );
  },
});
