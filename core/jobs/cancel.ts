/**
 * `cancel` (PIN-063's contract): in one transaction with the job row locked, its pending items
 * are cancelled and their prices refunded at once, a `job_cancellations` row keeps the answer, and
 * the change goes to status history. Items in flight (claimed) may still finish and are then
 * charged, or fail and are released; the job settles when the last of them ends (or here, when
 * none is in flight).
 *
 * The job_cancellations row makes a repeated cancel answer the same and refund nothing twice.
 */
import { actorName, useActor, useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import { JobNotFoundError, JobNotRunningError } from "./errors.ts";
import { finalise } from "./finalise.ts";
import { finaliseIfFinished } from "./items.ts";
import type { ItemTally, LockedJob } from "./lifecycle.sql.ts";
import * as sql from "./lifecycle.sql.ts";
import { jobMetrics } from "./metrics.ts";
import type { CancelBody, CancelReply } from "./schema.ts";
import { JobStates } from "./states.ts";

/**
 * Cancel job `id` of the context's tenant: 404 when it is not the tenant's, 409
 * `jobs.not_running` when it already completed or failed.
 *
 * @example
 *   const r = await Jobs.cancel(jobId, { reason: "wrong input file" });
 *   // { job_id, status: "cancelled", completed_items: 50, cancelled_items: 50, in_flight_items: 0, credits_refunded: 50 }
 */
export async function cancel(id: string, body: CancelBody): Promise<CancelReply> {
  const tenantId = useTenant();
  const outcome = await withTx(async (): Promise<CancelReply | { finishedAs: string }> => {
    const { rows } = await query<LockedJob>(sql.lockJob, [id, tenantId]);
    const job = rows[0];
    if (!job) throw new JobNotFoundError(id);
    const before = await query<CancelReply>(sql.getCancellation, [id]);
    if (before.rows[0]) return before.rows[0];
    if (job.status !== JobStates.running) throw new JobNotRunningError(id, job.status);
    // Every item already finished, only its finalisation is still to come: the job is not
    // running any more, whatever its row says; settle it (after this transaction) and refuse.
    const open = (await query<ItemTally>(sql.itemTally, [id])).rows[0] as ItemTally;
    if (open.pending === 0 && open.claimed === 0)
      return { finishedAs: open.failed > 0 ? JobStates.failed : JobStates.completed };

    const now = clock().now();
    const pending = (await query<{ n: number; credits: string }>(sql.cancelPending, [id, now])).rows[0];
    const cancelled = pending?.n ?? 0;
    const tally = (await query<ItemTally>(sql.itemTally, [id])).rows[0] as ItemTally;
    await query(sql.markCancelled, [id, tally.claimed === 0 ? now : null]);
    const reply = (
      await query<CancelReply>(sql.insertCancellation, [
        id,
        tenantId,
        tally.done,
        cancelled,
        tally.claimed,
        pending?.credits ?? "0",
        body.reason ?? null,
        actorName(useActor()),
        now,
      ])
    ).rows[0] as CancelReply;
    // Written even when 0, so the ledger shows every cancellation.
    await Credits.refund(tenantId, id, reply.credits_refunded, body.reason ?? "job cancelled");
    await StatusHistory.record({
      entity_type: "job",
      entity_id: id,
      old_status: JobStates.running,
      new_status: JobStates.cancelled,
      reason: body.reason ?? null,
      metadata: {
        completed_items: reply.completed_items,
        cancelled_items: reply.cancelled_items,
        in_flight_items: reply.in_flight_items,
        credits_refunded: reply.credits_refunded,
      },
    });
    if (cancelled > 0) afterCommit(() => jobMetrics.items.inc({ outcome: "cancelled" }, cancelled));
    // Nothing in flight: nobody else will finish an item of it, so settle it now, under the same lock.
    if (tally.claimed === 0) await finalise(id);
    return reply;
  });
  if ("finishedAs" in outcome) {
    await finalise(id);
    const { rows } = await query<{ status: string }>(sql.jobStatus, [id]);
    throw new JobNotRunningError(id, rows[0]?.status ?? outcome.finishedAs);
  }
  // Items were in flight: the last of them to finish finalises the job, unless its completion
  // saw an item still pending that this cancel has just cancelled (it then left finalisation to
  // that item's finisher, this cancel). The check waits for such a completion's commit.
  if (outcome.in_flight_items > 0) await finaliseIfFinished(id);
  return outcome;
}
