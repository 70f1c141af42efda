/**
 * The SQS worker's core: a batch of item messages (`{job_id, item_id}`, wake-up calls for rows
 * that already exist) is claimed in one statement, each claimed item's skill runs concurrently,
 * and each ends through the same `complete` / `fail` as an external agent's.
 *
 * Safe under redelivery: the skill runs with idempotency key `job-item:<itemId>`, so a message
 * delivered again after a crash replays the stored result instead of repeating the side effect,
 * and the item's status plus the unique `charge:<itemId>` ledger key charge it once.
 */
import { withContext } from "../context.ts";
import { AppError } from "../errors.ts";
import { log } from "../platform/logger.ts";
import { Skills } from "../skills/index.ts";
import { type ClaimedItem, claimByIds } from "./claim.ts";
import { ItemNotFoundError, LeaseLostError } from "./errors.ts";
import { complete, fail } from "./items.ts";
import type { ItemMessage } from "./schema.ts";

/** What the SQS worker reports per record: done (acknowledge) or retry (SQS redelivers). */
export type ItemOutcome = "done" | "retry";

export interface ItemQueueMessage {
  messageId: string;
  body: ItemMessage;
}

/**
 * Time kept back from the lease for recording the outcome: a fifth of it, at most 5 s. A skill
 * that runs out its deadline still completes or fails the item before the lease ends.
 */
export function skillTimeoutMs(itemTimeoutS: number): number {
  const leaseMs = itemTimeoutS * 1000;
  return Math.max(1, leaseMs - Math.min(5000, leaseMs / 5));
}

/**
 * Process a batch of item messages; the outcome of every message by its id.
 *
 * "done" for every message whose item reached a decision (done, failed, or back to pending with a
 * fresh message) and for those with nothing to do: an item finished or cancelled (a duplicate
 * delivery is harmless), held by another worker with a live lease (it has it), or with an
 * expired one (the sweeper's). "retry" only when the bookkeeping itself failed (the database is
 * down): SQS redelivers the same message, whose worker id still holds the item, so it is taken up
 * again at once.
 *
 * @example
 *   const outcomes = await Jobs.processMessages([{ messageId, body: { job_id, item_id } }]);
 */
export async function processMessages(messages: readonly ItemQueueMessage[]): Promise<Map<string, ItemOutcome>> {
  const outcomes = new Map<string, ItemOutcome>(messages.map((m) => [m.messageId, "done"]));
  // One claim per item: a second message for the same item in this batch is acknowledged.
  const byItem = new Map<string, ItemQueueMessage>();
  for (const m of messages) if (!byItem.has(m.body.item_id)) byItem.set(m.body.item_id, m);
  const unique = [...byItem.values()];
  let claimed: ClaimedItem[];
  try {
    claimed = await claimByIds(unique);
  } catch (e) {
    log.warn("could not claim job items; SQS redelivers them", { count: unique.length, err: e });
    for (const m of unique) outcomes.set(m.messageId, "retry");
    return outcomes;
  }
  if (claimed.length < unique.length)
    log.info("job item messages with nothing to do", { skipped: unique.length - claimed.length });
  await Promise.all(
    claimed.map(async (item) => {
      const message = byItem.get(item.id) as ItemQueueMessage;
      outcomes.set(message.messageId, await runItem(item, message.messageId));
    }),
  );
  return outcomes;
}

/**
 * Run one claimed item's skill outside any transaction, as the system acting for the item's
 * tenant (the skill's keys, breakers and idempotency records are per tenant), then record it.
 */
function runItem(item: ClaimedItem, messageId: string): Promise<ItemOutcome> {
  // Logs of the item carry its own message id, whichever record's context the batch ran in.
  const ctx = {
    requestId: messageId,
    correlationId: messageId,
    actor: { type: "system" as const, name: "job-items", tenantId: item.tenant_id },
  };
  return withContext(ctx, async () => {
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    try {
      const r = await Skills.execute(item.task, item.input, {
        idempotencyKey: `job-item:${item.id}`,
        runId: item.job_id,
        opIndex: item.idx,
        timeoutMs: skillTimeoutMs(item.item_timeout_s),
      });
      outcome = { ok: true, result: r.result };
    } catch (e) {
      outcome = { ok: false, error: e };
    }
    try {
      if (outcome.ok) {
        await complete(item.id, { worker_id: item.claimed_by, result: outcome.result });
      } else {
        const e = outcome.error;
        await fail(item.id, {
          worker_id: item.claimed_by,
          error: e instanceof AppError ? { code: e.code, message: e.message } : { message: String(e) },
          // Anything but an AppError saying otherwise may go better next time.
          retryable: e instanceof AppError ? e.retryable : true,
        });
      }
      return "done";
    } catch (e) {
      if (e instanceof LeaseLostError || e instanceof ItemNotFoundError) {
        // The lease ran out while the skill ran: the sweeper or another worker has the item now,
        // and its next run replays this one's stored result.
        log.warn("job item finished after its lease was lost", { itemId: item.id, code: e.code });
        return "done";
      }
      log.error("could not record a job item's outcome; SQS redelivers it", { itemId: item.id, err: e });
      return "retry";
    }
  });
}
