/**
 * A simulated plan ran: its actual cost and wall time go next to the estimates recorded for the
 * same plan (by `plan_hash`, the hash of the plan V1 priced; the simulate's options, such as the
 * budget, do not change it), on the comparisons made before the run began that have none yet
 * (each simulation paired with the first run that followed it): those whose V2 never saw any of
 * the run, so that the accuracy against actuals is measured on hold-out runs. Called by the domain that ran the plan,
 * inside the transaction that ends the run, for the caller's tenant.
 */
import { useTenant } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import * as sql from "./actuals.sql.ts";

/** What a plan's run cost and took. */
export interface ActualOutcome {
  /** The run's tenant, when the caller acts for none (a job settled by the sweeper); else the context's. */
  tenantId?: string;
  planHash: string;
  runId: string;
  credits: number;
  durationMs: number;
  /** When the run began: only comparisons made before it get its outcome (hold-out). */
  startedAt: Date;
}

/** Record a run's outcome on the tenant's comparisons of its plan; how many rows it reached (0: never simulated). */
export async function recordActual(o: ActualOutcome): Promise<number> {
  const { rowCount } = await query(sql.recordActual, [
    o.tenantId ?? useTenant(),
    o.planHash,
    o.credits,
    o.durationMs,
    o.runId,
    clock().now(),
    o.startedAt,
  ]);
  return rowCount ?? 0;
}
