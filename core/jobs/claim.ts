/**
 * Claiming items with a lease: external agents claim the next pending items of a job over HTTP
 * (`claim`), the SQS worker claims the items its batch of messages names (`claimByIds`). Both are
 * one statement of `FOR UPDATE SKIP LOCKED`: concurrent claimers never wait on each other and
 * never get the same item.
 */
import { actorName, useActor, useTenant } from "../context.ts";
import { ConflictError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { inTransaction, query } from "../platform/db/index.ts";
import * as sql from "./claim.sql.ts";
import { JobNotFoundError, JobNotRunningError } from "./errors.ts";
import { jobMetrics } from "./metrics.ts";
import type { ClaimBody, ClaimReply, ItemMessageIn } from "./schema.ts";
import { EXTERNAL_TASK } from "./spawn.ts";
import { JobStates } from "./states.ts";

interface JobForClaim {
  id: string;
  status: string;
  task: string;
  parallelism: number;
  item_timeout_s: number;
  in_flight: number;
}

/**
 * Claim up to `max_items` pending items of an external job for `worker_id`, in order, each with a
 * lease of `lease_s` (default: the job's item_timeout_s). An empty list when none is pending or
 * the job's parallelism is used up. 404 for another tenant's job, 409 `jobs.not_running` once the
 * job is cancelled or finished, 409 `jobs.not_external` for a job whose items SQS workers run.
 *
 * @example
 *   const { items } = await Jobs.claim(jobId, { worker_id: "agent-7", max_items: 5, lease_s: 60 });
 */
export async function claim(jobId: string, body: ClaimBody): Promise<ClaimReply> {
  ownCommit();
  const stop = jobMetrics.claimSeconds.startTimer({ via: "http" });
  try {
    const tenantId = useTenant();
    const { rows } = await query<{
      id: string;
      idx: number;
      input: unknown;
      attempt: number;
      lease_until: string;
      taken_over: boolean;
    }>(sql.claimPending, [
      jobId,
      tenantId,
      body.max_items,
      body.worker_id,
      clock().now(),
      body.lease_s ?? null,
      actorName(useActor()),
    ]);
    countTakenOver(rows);
    // Nothing claimed: say why (another round trip, only on this path).
    if (rows.length === 0) await whyNothing(jobId, tenantId);
    rows.sort((a, b) => a.idx - b.idx);
    return { items: rows.map((r) => ({ id: r.id, input: r.input, attempt: r.attempt, lease_until: r.lease_until })) };
  } finally {
    stop();
  }
}

/** Items whose ended lease a claim took over: counted as the sweeper counts the leases it expires. */
function countTakenOver(rows: readonly { taken_over?: boolean }[]): void {
  const n = rows.filter((r) => r.taken_over).length;
  if (n) jobMetrics.items.inc({ outcome: "lease_expired" }, n);
}

/**
 * A claim commits without waiting for its WAL flush (claim.sql.ts, claimCommitsAsync), which is
 * only safe for a transaction that is the claim alone: inside withTx it would cover the rest.
 */
function ownCommit(): void {
  if (inTransaction()) throw new Error("a claim commits on its own: do not call it inside withTx");
}

/**
 * An empty claim: 404 for a job that is not the tenant's, 409 for one that is not running or runs
 * a skill; otherwise nothing is claimable or parallelism is used up, and the empty list stands.
 * Parallelism is exact (job_claim_room, migration 0014): a job with more items than its
 * parallelism serialises its claims on a lock held for one claim statement, a guarantee paid
 * for only by claims of jobs that could exceed it.
 */
async function whyNothing(jobId: string, tenantId: string): Promise<void> {
  const job = (await query<JobForClaim>(sql.jobForClaim, [jobId, tenantId])).rows[0];
  if (!job) throw new JobNotFoundError(jobId);
  if (job.status !== JobStates.running) throw new JobNotRunningError(jobId, job.status);
  if (job.task !== EXTERNAL_TASK)
    throw new ConflictError("jobs.not_external", `Job ${jobId} runs skill ${job.task}: its items go to SQS workers`, {
      details: { job_id: jobId, task: job.task },
    });
}

/** An item the SQS worker claimed, with what it needs to run it. */
export interface ClaimedItem {
  id: string;
  job_id: string;
  tenant_id: string;
  idx: number;
  input: unknown;
  /** `sqs:<messageId>` of the message the item was claimed for. */
  claimed_by: string;
  task: string;
  item_timeout_s: number;
  /** The job has more items than its parallelism: finishing one may wake a parked item. */
  limited: boolean;
  /** This claim's attempt (1-based), and the job's attempts in all. */
  attempt: number;
  max_attempts: number;
}

/** The worker id of the SQS worker handling one message. */
export const sqsWorkerId = (messageId: string) => `sqs:${messageId}`;

/** What the SQS worker's claim gave: the items claimed, and the ids held back by parallelism. */
export interface ClaimedBatch {
  claimed: ClaimedItem[];
  /** Items whose job had no room: not claimed, their messages to acknowledge (parked, see work.sql.ts). */
  held: string[];
}

/**
 * The SQS worker's claim: every item the messages name, in one statement, each leased for its
 * job's item_timeout_s to `sqs:<messageId>`, within its job's parallelism. Items not claimable
 * (finished, cancelled, held by another worker with a live lease, of a job no longer running, or
 * unknown) are simply not returned; an ended lease is taken over. Items beyond their job's room
 * come back in `held`. The caller runs as the system: a message names no tenant, the item row does.
 */
export async function claimByIds(
  messages: readonly { messageId: string; body: ItemMessageIn }[],
): Promise<ClaimedBatch> {
  if (messages.length === 0) return { claimed: [], held: [] };
  ownCommit();
  const stop = jobMetrics.claimSeconds.startTimer({ via: "sqs" });
  try {
    const { rows } = await query<ClaimedItem & { held: boolean }>(sql.claimByIds, [
      messages.map((m) => m.body.itemId),
      messages.map((m) => m.body.jobId),
      messages.map((m) => sqsWorkerId(m.messageId)),
      clock().now(),
    ]);
    const claimed: ClaimedItem[] = [];
    const held: string[] = [];
    for (const { held: isHeld, ...item } of rows) {
      if (isHeld) held.push(item.id);
      else claimed.push(item);
    }
    return { claimed, held };
  } finally {
    stop();
  }
}
