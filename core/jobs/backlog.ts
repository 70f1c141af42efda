/**
 * The jobs' backlog as gauges, recorded by the sweeper at the end of each run (every minute), so
 * `GET /metrics` shows how much work waits and whether any is stuck, across every tenant (no
 * tenant label: the totals are what an operator is paged on; `GET /api/v1/jobs` has the detail).
 */
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import type { BacklogRow } from "./backlog.sql.ts";
import * as sql from "./backlog.sql.ts";
import { jobMetrics } from "./metrics.ts";

/**
 * A claimed item whose lease ended longer ago than this is stuck: the sweeper (every minute)
 * should have put it back to pending or failed it by then.
 */
export const STUCK_AFTER_S = 120;

export interface Backlog {
  pending: number;
  claimed: number;
  stuck: number;
  /** Seconds since the oldest running job that still has pending items was spawned; 0 if none. */
  oldestAgeS: number;
}

/** Measure the backlog and set the gauges. A failure is logged and answered as undefined: it never stops the sweep. */
export async function recordBacklog(): Promise<Backlog | undefined> {
  try {
    const now = clock().nowMs();
    const { rows } = await query<BacklogRow>(sql.backlog, [new Date(now - STUCK_AFTER_S * 1000)]);
    const row = rows[0];
    const backlog: Backlog = {
      pending: row?.pending ?? 0,
      claimed: row?.claimed ?? 0,
      stuck: row?.stuck ?? 0,
      oldestAgeS: row?.oldest ? Math.max(0, (now - row.oldest.getTime()) / 1000) : 0,
    };
    jobMetrics.backlogItems.set({ status: "pending" }, backlog.pending);
    jobMetrics.backlogItems.set({ status: "claimed" }, backlog.claimed);
    jobMetrics.stuckItems.set({}, backlog.stuck);
    jobMetrics.oldestBacklogAge.set({}, backlog.oldestAgeS);
    return backlog;
  } catch (e) {
    log.warn("could not measure the jobs' backlog; gauges keep their last value", { err: e });
    return undefined;
  }
}
