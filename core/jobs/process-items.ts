/**
 * The SQS worker's core: a batch of item messages (`{v, tenantId, jobId, itemId}`, wake-up calls for rows
 * that already exist) is claimed in one statement, each claimed item's skill runs concurrently,
 * the successes are done and charged in one statement (`completeHeld`, as `completeMany` for an
 * external agent) and each failure goes through the same `fail` as an external agent's.
 *
 * Safe under redelivery: the skill runs with idempotency key `job-item:<itemId>`, so a message
 * delivered again after a crash replays the stored result instead of repeating the side effect,
 * and the item's status, moved to done in the statement that writes its charge, charges it once.
 */
import { withContext } from "../context.ts";
import { AppError } from "../errors.ts";
import * as Failures from "../failures/index.ts";
import { log } from "../platform/logger.ts";
import * as Skills from "../skills/index.ts";
import { type ClaimedItem, claimByIds } from "./claim.ts";
import { ItemNotFoundError, LeaseLostError } from "./errors.ts";
import { wakeParked } from "./item-outbox.ts";
import { completeHeld, fail } from "./items.ts";
import { postpone } from "./postpone.ts";
import type { ItemMessageIn } from "./schema.ts";

/** What the SQS worker reports per record: done (acknowledge) or retry (SQS redelivers). */
export type ItemOutcome = "done" | "retry";

export interface ItemQueueMessage {
  messageId: string;
  body: ItemMessageIn;
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
 * delivery is harmless), held by another worker with a live lease (it has it), or held back by
 * its job's parallelism (parked: woken when items of its job finish). "retry" only when the bookkeeping itself failed (the database is
 * down): SQS redelivers the same message, whose worker id still holds the item, so it is taken up
 * again at once.
 *
 * @example
 *   const outcomes = await Jobs.processMessages([{ messageId, body: { v: 1, tenantId, jobId, itemId } }]);
 */
export async function processMessages(messages: readonly ItemQueueMessage[]): Promise<Map<string, ItemOutcome>> {
  const outcomes = new Map<string, ItemOutcome>(messages.map((m) => [m.messageId, "done"]));
  // One claim per item: a second message for the same item in this batch is acknowledged.
  const byItem = new Map<string, ItemQueueMessage>();
  for (const m of messages) if (!byItem.has(m.body.itemId)) byItem.set(m.body.itemId, m);
  const unique = [...byItem.values()];
  let claimed: ClaimedItem[];
  let held: string[];
  try {
    ({ claimed, held } = await claimByIds(unique));
  } catch (e) {
    log.warn("could not claim job items; SQS redelivers them", { count: unique.length, err: e });
    for (const m of unique) outcomes.set(m.messageId, "retry");
    return outcomes;
  }
  if (held.length) log.info("job items held back by their job's parallelism", { held: held.length });
  if (claimed.length + held.length < unique.length)
    log.info("job item messages with nothing to do", { skipped: unique.length - claimed.length - held.length });
  // Per job, its items' skills run concurrently and its successes are then done and charged in
  // one statement. Per job, not per batch: a job's items share one lease length, so waiting for
  // the job's slowest item never outlasts the others' leases; another job's might. Failures go
  // one by one (rarer, and each decides retry or fail on its own).
  const byJob = new Map<string, ClaimedItem[]>();
  for (const item of claimed) byJob.set(item.job_id, [...(byJob.get(item.job_id) ?? []), item]);
  await Promise.all(
    [...byJob.values()].map(async (items) => {
      const ran = await Promise.all(
        items.map((item) => runItem(item, (byItem.get(item.id) as ItemQueueMessage).messageId)),
      );
      const done = ran.filter((r): r is Succeeded => r.ok);
      if (done.length) for (const [id, o] of await recordDone(done)) outcomes.set(id, o);
      for (const r of ran) if (!r.ok) outcomes.set(r.messageId, await recordFailure(r));
      // Their leases ended: as many items of the job as this held may now run (a job with no
      // more items than its parallelism never parks one, and costs no round trip here).
      const first = items[0] as ClaimedItem;
      if (first.limited) await wakeParked(first.job_id, items.length);
    }),
  );
  return outcomes;
}

type Ran = { item: ClaimedItem; messageId: string } & ({ ok: true; result: unknown } | { ok: false; error: unknown });
type Succeeded = Ran & { ok: true };

/** The context an item's work runs in: the system acting for the item's tenant, logs under its message id. */
const itemContext = (item: ClaimedItem, messageId: string) => ({
  requestId: messageId,
  correlationId: messageId,
  actor: { type: "system" as const, name: "job-items", tenantId: item.tenant_id },
});

/**
 * Run one claimed item's skill outside any transaction, as the system acting for the item's
 * tenant (the skill's keys, breakers and idempotency records are per tenant).
 */
function runItem(item: ClaimedItem, messageId: string): Promise<Ran> {
  return withContext(itemContext(item, messageId), async (): Promise<Ran> => {
    try {
      const r = await Skills.execute(item.task, item.input, {
        idempotencyKey: `job-item:${item.id}`,
        runId: item.job_id,
        opIndex: item.idx,
        timeoutMs: skillTimeoutMs(item.item_timeout_s),
        // The item's price was reserved by its job and is charged when the item is done.
        charge: false,
      });
      return { item, messageId, ok: true, result: r.result };
    } catch (e) {
      return { item, messageId, ok: false, error: e };
    }
  });
}

/** One job's successes done and charged in one statement; their outcomes by message id. */
function recordDone(group: Succeeded[]): Promise<[string, ItemOutcome][]> {
  const first = group[0] as Succeeded;
  return withContext(itemContext(first.item, first.messageId), async (): Promise<[string, ItemOutcome][]> => {
    try {
      const { refused } = await completeHeld(
        group.map((r) => ({ id: r.item.id, worker_id: r.item.claimed_by, result: r.result })),
      );
      // The lease ran out while the skill ran: the sweeper or another worker has the item now,
      // and its next run replays this one's stored result.
      for (const r of refused)
        log.warn("job item finished after its lease was lost", { itemId: r.id, code: r.error.code });
      return group.map((r) => [r.messageId, "done"]);
    } catch (e) {
      log.error("could not record job items' outcomes; SQS redelivers them", { count: group.length, err: e });
      return group.map((r) => [r.messageId, "retry"]);
    }
  });
}

/**
 * A failed skill: the item back to pending (retryable, attempts left) or failed. A call refused
 * because an earlier execution of the item (a worker that died mid-call) still holds its
 * idempotency key is no attempt: the item is postponed until that key's lease ends, and then
 * runs, or replays what the earlier execution stored.
 */
function recordFailure(r: Ran & { ok: false }): Promise<ItemOutcome> {
  const { item, error: e } = r;
  return withContext(itemContext(item, r.messageId), async () => {
    try {
      if (e instanceof Skills.ExecutionInProgressError) {
        const error = { code: e.code, message: e.message };
        const retryAfterS = e.retryAfterS ?? 1;
        if (await postpone(item.id, { worker_id: item.claimed_by, error, retryAfterS })) {
          log.info("job item postponed: an earlier execution still holds its idempotency key", {
            itemId: item.id,
            retryAfterS,
          });
          return "done";
        }
      }
      // The catalog decides (issue 15): its entry may refuse a retry the error asks for, cap the
      // attempts and space them (its backoff: the item's next message is held back that long);
      // a failure no entry knows gets one retry at most. Without an entry, anything but an
      // AppError saying otherwise may go better next time.
      const retry = await Failures.retryDecision(e, {
        retryable: e instanceof AppError ? e.retryable : true,
        maxAttempts: item.max_attempts,
      });
      const retryable = retry.retryable && item.attempt < retry.maxAttempts;
      await fail(
        item.id,
        {
          worker_id: item.claimed_by,
          error: e instanceof AppError ? { code: e.code, message: e.message } : { message: String(e) },
          retryable,
        },
        retryable && retry.backoff ? { retryDelayS: Failures.retryDelayS(retry.backoff, item.attempt) } : {},
      );
      return "done";
    } catch (err) {
      if (err instanceof LeaseLostError || err instanceof ItemNotFoundError) {
        log.warn("job item finished after its lease was lost", { itemId: item.id, code: err.code });
        return "done";
      }
      log.error("could not record a job item's outcome; SQS redelivers it", { itemId: item.id, err });
      return "retry";
    }
  });
}
