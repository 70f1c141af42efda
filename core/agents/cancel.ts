/**
 * Cancel: the caller of an invoke gives up on it (A2A's `canceled`). In one transaction with the
 * audit row locked: the status becomes `canceled`, its held credits are released through the
 * ledger (nothing charged), and its request message is acked (the target is not handed it again).
 * After commit the caller's waiting invoke is woken and answers 200 with the canceled row (A2A
 * returns the task in its terminal state; a cancel is not an error of the call). An answer the
 * target sends afterwards is recorded on the canceled row (`answered_at`, `response_payload`),
 * not lost (respond.ts).
 */
import { useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import { InvokeAnsweredError, InvokeNotFoundError, NotInvokeCallerError } from "./errors.ts";
import * as sql from "./invokes.sql.ts";
import { agentMetrics } from "./metrics.ts";
import type { InvokeRecord } from "./schema.ts";
import { InvokeStates } from "./states.ts";
import { invokeKey, signal } from "./wake.ts";

/** What may still be canceled: not answered yet (a timed-out invoke still awaits a late answer). */
const cancelable: readonly string[] = [InvokeStates.submitted, InvokeStates.working, InvokeStates.timeout];

/** The row `lockInvoke` answers. */
export interface LockedInvoke {
  status: string;
  caller_instance_id: string;
  target_instance_id: string;
  hold_id: string | null;
  deadline_at: Date;
  answered_at: Date | null;
}

/**
 * Cancel invoke `invokeId` as `canceller` (the instance of X-AOS-Agent-Id, or `key:<id>`): 403
 * unless it is the invoke's caller, 409 when the target answered first; canceling again answers
 * the canceled row.
 *
 * @example
 *   const row = await Agents.cancelInvoke(invokeId, await Agents.actingAs(headers));
 *   // row.status === "canceled", row.credits_charged === 0 when credits were held
 */
export async function cancelInvoke(invokeId: string, canceller: string): Promise<InvokeRecord> {
  const tenantId = useTenant();
  const now = clock().now();
  return withTx(async () => {
    const { rows } = await query<LockedInvoke>(sql.lockInvoke, [tenantId, invokeId]);
    const row = rows[0];
    if (!row) throw new InvokeNotFoundError(invokeId);
    if (canceller !== row.caller_instance_id) throw new NotInvokeCallerError(invokeId);
    if (row.status === InvokeStates.canceled) {
      const again = await query<InvokeRecord>(sql.getInvoke, [tenantId, invokeId]);
      return again.rows[0] as InvokeRecord;
    }
    if (!cancelable.includes(row.status)) throw new InvokeAnsweredError(invokeId, row.status);
    // A timed-out invoke's hold was released at its deadline; releasing again is a no-op.
    if (row.hold_id && row.status !== InvokeStates.timeout) await Credits.releaseHold(tenantId, row.hold_id);
    const canceled = await query<InvokeRecord>(sql.cancelInvoke, [tenantId, invokeId, now, row.hold_id ? 0 : null]);
    await query(sql.ackRequest, [tenantId, invokeId, now]);
    const record = canceled.rows[0] as InvokeRecord;
    const wasOpen = row.status !== InvokeStates.timeout;
    afterCommit(async () => {
      agentMetrics.invokeCanceled.inc();
      if (wasOpen) agentMetrics.invokeSeconds.observe({ status: "canceled" }, (record.duration_ms ?? 0) / 1000);
      await signal(invokeKey(invokeId));
    });
    return record;
  });
}
