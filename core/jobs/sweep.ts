/**
 * The jobs' sweeper (the JobSweep cron, every minute), so nothing is lost when a worker dies or
 * a send fails after commit:
 *   1. claims whose lease ended go back to pending (attempts left, job running; a skill job's
 *      item gets a new message) or fail, their credits released in the same transaction;
 *   2. pending items of running skill jobs whose message looks lost are sent again (the item
 *      outbox's sweeper, item-outbox.ts and core/platform/outbox/);
 *   3. unsettled jobs with no item pending or in flight are finalised;
 *   4. the backlog gauges are set (backlog.ts).
 * Runs as the system (no tenant): every statement names its rows by id.
 */
import * as Credits from "../credits/index.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { enqueueNow, redriveOutbox, sweepOutbox } from "../platform/outbox/index.ts";
import { recordBacklog } from "./backlog.ts";
import { leaseExpiredError } from "./claim.sql.ts";
import { finalise } from "./finalise.ts";
import { recordItemFailure } from "./item-failure.ts";
import { itemOutbox } from "./item-outbox.ts";
import { jobMetrics } from "./metrics.ts";
import { EXTERNAL_TASK } from "./spawn.ts";
import { JobStates } from "./states.ts";
import * as sql from "./sweep.sql.ts";

/** Items per transaction of step 1. */
const BATCH = 200;
/** Batches of step 1 per run at most, so one run stays well inside the cron's 60 s. */
const MAX_BATCHES = 10;
/** Jobs finalised per run at most. */
const FINALISE_LIMIT = 500;

export interface SweepResult {
  leasesExpired: number;
  resent: number;
  finalised: number;
}

interface DueItem {
  id: string;
  job_id: string;
  tenant_id: string;
  attempt: number;
  credits: number;
}

interface SharedJob {
  id: string;
  status: string;
  task: string;
  max_attempts: number;
}

/**
 * One run of the sweeper; how many leases expired, messages were re-sent and jobs finalised.
 *
 * @example
 *   const { leasesExpired, resent, finalised } = await Jobs.sweep();
 */
export async function sweep(): Promise<SweepResult> {
  const result: SweepResult = { leasesExpired: 0, resent: 0, finalised: 0 };
  for (let i = 0; i < MAX_BATCHES; i++) {
    const { expired, full } = await expireBatch();
    result.leasesExpired += expired;
    if (!full) break;
  }
  result.resent = (await sweepOutbox(itemOutbox)).resent;
  result.finalised = await finaliseFinished();
  await recordBacklog();
  return result;
}

/** Step 1 on up to BATCH expired claims, in one transaction; their messages after commit. */
async function expireBatch(): Promise<{ expired: number; full: boolean }> {
  const now = clock().now();
  const { due, requeued, failed, exhausted } = await withTx(async () => {
    const { rows: due } = await query<DueItem>(sql.expiredLeases, [now, BATCH]);
    if (due.length === 0) return { due, requeued: [], failed: 0, exhausted: [] };
    // The jobs FOR SHARE: a concurrent cancel either committed (the job reads cancelled, so its
    // items fail here) or waits and then cancels what this puts back to pending.
    const jobIds = [...new Set(due.map((d) => d.job_id))];
    const { rows: jobRows } = await query<SharedJob>(sql.lockJobs, [jobIds]);
    const jobs = new Map(jobRows.map((j) => [j.id, j]));
    const retry = (d: DueItem) => {
      const j = jobs.get(d.job_id);
      return j?.status === JobStates.running && d.attempt < j.max_attempts;
    };
    const error = JSON.stringify(leaseExpiredError);
    const back = due.filter(retry);
    if (back.length) await query(sql.requeue, [back.map((d) => d.id), error]);
    const requeued = back
      .filter((d) => jobs.get(d.job_id)?.task !== EXTERNAL_TASK)
      .map((d) => ({ id: d.id, job_id: d.job_id, tenant_id: d.tenant_id }));
    const failing = due.filter((d) => !retry(d));
    if (failing.length) await query(sql.expireFailed, [failing.map((d) => d.id), error, now]);
    for (const d of failing) await Credits.release(d.tenant_id, d.job_id, d.id, d.credits);
    // Items of running jobs that used their last attempt: failures (a cancelled job's are not).
    const exhausted = failing
      .filter((d) => jobs.get(d.job_id)?.status === JobStates.running)
      .map((d) => ({ ...d, task: jobs.get(d.job_id)?.task ?? "unknown" }));
    return { due, requeued, failed: failing.length, exhausted };
  });
  // At once, not one by one: each record may take FAILURE_PERSIST_TIMEOUT_MS when Postgres is slow.
  await Promise.all(exhausted.map((d) => recordItemFailure(d, leaseExpiredError, d.tenant_id)));
  if (due.length) {
    jobMetrics.items.inc({ outcome: "lease_expired" }, due.length);
    if (failed) jobMetrics.items.inc({ outcome: "failed" }, failed);
    log.info("job item leases expired", { expired: due.length, failed });
  }
  await enqueueNow(itemOutbox, requeued);
  return { expired: due.length, full: due.length === BATCH };
}

/** Step 3: each unsettled job with nothing open is finalised; one failing does not stop the rest. */
async function finaliseFinished(): Promise<number> {
  const { rows } = await query<{ id: string }>(sql.finalisable, [FINALISE_LIMIT]);
  let n = 0;
  for (const r of rows) {
    try {
      if (await finalise(r.id)) n++;
    } catch (e) {
      log.error("job finalisation failed; next run tries again", { jobId: r.id, err: e });
    }
  }
  return n;
}

export interface RedriveResult extends SweepResult {
  /** Item messages sent again for every pending item of a running skill job. */
  redriven: number;
  /**
   * When the last lease an SQS worker still holds ends (null: none): those workers' messages were
   * lost with the queue, so a sweep at that moment puts their items back to pending and sends
   * them; a claim takes an ended lease over at once.
   */
  lastLeaseEnd: Date | null;
}

/**
 * For a queue that lost every message (the local runtime's in-memory queue after a restart):
 * one sweep now, then a message for every pending item of a running skill job, however recently
 * its last one was sent. Without it, those items wait for the outbox's resend (at least 300 s).
 *
 * @example
 *   const { redriven, lastLeaseEnd } = await Jobs.redrive();
 */
export async function redrive(): Promise<RedriveResult> {
  const swept = await sweep();
  const { resent: redriven } = await redriveOutbox(itemOutbox);
  const { rows } = await query<{ until: Date | null }>(sql.lastQueueLeaseEnd, []);
  return { ...swept, redriven, lastLeaseEnd: rows[0]?.until ?? null };
}
