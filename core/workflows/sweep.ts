/**
 * The workflows' sweeper (the WorkflowSweep cron, every minute): step and replay messages that
 * look lost are sent again (the step and replay outboxes' sweepers), and the stuck-runs gauge is
 * set. Runs as the system.
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { sweepOutbox } from "../platform/outbox/index.ts";
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
