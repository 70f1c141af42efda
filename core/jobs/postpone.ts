/**
 * Postponing an item the SQS worker could not start (its idempotency key still held by an earlier
 * execution): back to pending without counting the attempt, its message held back by SQS.
 */
import { useTenant } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { actAs } from "../platform/history/index.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import { itemOutbox, type OutboxItem } from "./item-outbox.ts";
import { jobMetrics } from "./metrics.ts";
import * as sql from "./work.sql.ts";

/**
 * The SQS worker could not start an item's work: an earlier execution (a worker that died
 * mid-call) still holds the item's idempotency key, for `retryAfterS` more seconds at most. The
 * item goes back to pending WITHOUT counting the attempt (nothing was tried) and its next message
 * is held back by SQS until then, when the key is free or the earlier result can be replayed.
 * False when the worker no longer holds the item or its job stopped running (then the caller
 * fails it as usual).
 */
export async function postpone(
  itemId: string,
  body: { worker_id: string; error: { code: string; message: string }; retryAfterS: number },
): Promise<boolean> {
  const tenantId = useTenant();
  const now = clock().now();
  const delayS = Math.min(900, Math.max(1, Math.ceil(body.retryAfterS)));
  const put = await withTx(async () => {
    await actAs();
    await query(sql.lockItemJob, [itemId, tenantId]);
    const { rows } = await query<OutboxItem>(sql.postpone, [
      itemId,
      tenantId,
      body.worker_id,
      now,
      JSON.stringify(body.error),
    ]);
    if (rows.length) enqueueAfterCommit(itemOutbox, rows, { delayS });
    return rows.length > 0;
  });
  if (put) jobMetrics.items.inc({ outcome: "postponed" });
  return put;
}
