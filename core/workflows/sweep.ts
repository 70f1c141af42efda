/**
 * The workflows' sweeper (the WorkflowSweep cron, every minute): step and replay messages that
 * look lost are sent again (the step and replay outboxes' sweepers), and the stuck-runs gauge is
 * set. Runs as the system. `redrive`: the same outboxes, every waiting row at once, for a queue
 * that lost every message (the local runtime's in-memory queue after a restart).
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { redriveOutbox, sweepOutbox } from "../platform/outbox/index.ts";
import { workflowMetrics as m } from "./metrics.ts";
import { replayOutbox } from "./replay-outbox.ts";
import { stepOutbox } from "./step-outbox.ts";
import * as sql from "./workflows.sql.ts";

export interface WorkflowSweepResult {
  /** Step messages sent again. */
  resent: number;
  /** Replay messages sent again. */
  replaysResent: number;
  stuck: number;
}

/**
 * @example
 *   const { resent, stuck } = await Workflows.sweep();
 */
export async function sweep(): Promise<WorkflowSweepResult> {
  const { resent } = await sweepOutbox(stepOutbox);
  const { resent: replaysResent } = await sweepOutbox(replayOutbox);
  const { rows } = await query<{ n: number }>(sql.stuckRuns, [clock().now(), config().workflows.stuckAfterS]);
  const stuck = rows[0]?.n ?? 0;
  m.stuckRuns.set({}, stuck);
  return { resent, replaysResent, stuck };
}

export interface WorkflowRedriveResult {
  /** Step messages sent again: one per running run, for its next op. */
  steps: number;
  /** Replay messages sent again: one per pending replay (and running one whose lease ended). */
  replays: number;
}

/**
 * For a queue that lost every message (the local runtime's in-memory queue after a restart): a
 * message for every running run's next op and every queued replay, however recently its last one
 * was sent. Without it a run waits for the step outbox's resend (1200 s) and a replay for the
 * replay outbox's (900 s). A replay still `running` under the dead process's lease is left to the
 * sweeper, which re-sends it a minute after its lease (330 s) ends. Consumers are idempotent: a
 * message that was not lost after all does nothing twice (a stale op index is acknowledged).
 *
 * @example
 *   const { steps, replays } = await Workflows.redrive();
 */
export async function redrive(): Promise<WorkflowRedriveResult> {
  const { resent: steps } = await redriveOutbox(stepOutbox);
  const { resent: replays } = await redriveOutbox(replayOutbox);
  return { steps, replays };
}
