/**
 * `finalise`: close a job whose items are all finished and settle its credits, exactly once.
 *
 * Called after the commit of every item completion or failure (the last committer sees every
 * item finished), by cancel when nothing is in flight, and by the sweeper. The job row is locked
 * FOR UPDATE and `settled_at` checked under the lock, so two callers racing settle it once.
 */
import * as Costsim from "../costsim/index.ts";
import * as Credits from "../credits/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import type { ItemTally, LockedJob } from "./lifecycle.sql.ts";
import * as sql from "./lifecycle.sql.ts";
import { jobMetrics } from "./metrics.ts";
import { JobStates } from "./states.ts";

/**
 * Settle and close job `jobId`; false when it still has pending or claimed items, is settled
 * already, or does not exist. A running job becomes completed (no failed item) or failed; a
 * cancelled one stays cancelled. Needs no tenant in context (the sweeper runs as the system).
 *
 * @example
 *   afterCommit(() => Jobs.finalise(item.job_id));
 */
export async function finalise(jobId: string): Promise<boolean> {
  return withTx(async () => {
    const { rows } = await query<LockedJob>(sql.lockJob, [jobId, null]);
    const job = rows[0];
    if (!job || job.settled_at) return false;
    const tally = (await query<ItemTally>(sql.itemTally, [jobId])).rows[0] as ItemTally;
    if (tally.pending > 0 || tally.claimed > 0) return false;
    const { charged } = await Credits.settle(job.tenant_id, jobId);
    const status =
      job.status === JobStates.running ? (tally.failed > 0 ? JobStates.failed : JobStates.completed) : job.status;
    const now = clock().now();
    await query(sql.markSettled, [jobId, status, now]);
    if (status !== job.status)
      await StatusHistory.record({
        tenant_id: job.tenant_id,
        entity_type: "job",
        entity_id: jobId,
        old_status: job.status,
        new_status: status,
        metadata: { done: tally.done, failed: tally.failed },
      });
    // A job that ran to its end (not cancelled) and was spawned with the sandbox on: its outcome
    // goes next to the tenant's shadow comparisons of the same plan made before it began.
    if (job.plan_hash && status !== JobStates.cancelled)
      await Costsim.recordActual({
        tenantId: job.tenant_id,
        planHash: job.plan_hash,
        runId: jobId,
        credits: charged,
        durationMs: now.getTime() - new Date(job.created_at).getTime(),
        startedAt: new Date(job.created_at),
      });
    const seconds = Math.max(0, (now.getTime() - new Date(job.created_at).getTime()) / 1000);
    afterCommit(() => jobMetrics.completionSeconds.observe({ status }, seconds));
    return true;
  });
}
