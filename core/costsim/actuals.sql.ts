/**
 * SQL of actual outcomes: what a simulated plan cost and took when it then ran, written next to
 * its estimates in costsim_provenance (V1's and V2's error against reality, divergence.ts).
 */
import { statement } from "../platform/db/statement.ts";

/**
 * $1 tenant, $2 plan hash, $3 credits charged, $4 duration ms, $5 run id, $6 now, $7 when the run
 * began: every comparison of the tenant recorded for that plan (whatever the budget it was
 * simulated with), compared before the run began and without an outcome yet, gets the run's: a
 * simulation is paired with the first run of its plan that followed it. A comparison made during
 * or after the run (its V2 may have read the run's first steps) and a backfilled row (compared_at
 * null) get none. How many rows it reached is returned.
 */
export const recordActual = /* @__PURE__ */ statement(
  () => `update costsim_provenance set actual_credits = CAST($3 AS numeric), actual_duration_ms = $4,
      actual_run_id = $5, actual_at = $6, actual_started_at = $7
    where tenant_id = $1 and plan_hash = $2 and compared_at <= $7 and actual_run_id is null`,
);
