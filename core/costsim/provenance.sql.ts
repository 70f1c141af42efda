/**
 * SQL of costsim_provenance (migration 0024): the shadow path's upsert of one comparison, the
 * status counts and the divergence report. Every statement names the tenant (`$1`, from
 * useTenant() or an admin's resolved tenant).
 *
 * The divergence report is two scans of the tenant's rows in the window, side by side on two
 * connections in one snapshot, with no per-row jsonb and no per-row numeric arithmetic (a bench
 * runs it over 1,000,000 rows against a bare percentile_cont): one for the cost delta's p50/p90
 * (`cost_delta_float`, a generated column), one for the rows per verdict and per packed KL bin
 * (`kl_bin`, generated) and the outliers beyond the drift threshold (`cost_rel`, generated). The
 * quartiles of `cost_rel` (the outlier fence) are sorted for only when those counts cannot bound
 * the fence below the threshold, and a last pass counts the outliers only when it is above. The accuracy
 * against actuals reads only the rows that carry actuals (a partial index that covers what it
 * reads). The caller finishes in TypeScript from the counts (klFromCounts), so the same rows give
 * what divergence() gives.
 */
import { sqlLiterals } from "../platform/db/index.ts";

const V = sqlLiterals({ v2Error: "v2_error" });

/** The report's rows: the tenant's (`$1`) created in [`$2`, `$3`), calling skill `$4` when not null. */
const window = `tenant_id = $1 and created_at >= $2 and created_at < $3
    and (CAST($4 AS text) is null or skills @> ARRAY[CAST($4 AS text)])`;

/** Rows where V2 answered (what the deltas, KL and outliers are computed over). */
const compared = `verdict <> ${V.v2Error} and cost_rel is not null and v2_duration_ms is not null and cost_delta_float is not null`;

/**
 * One comparison of the tenant's input `$2`: inserted, or it replaces the row's comparison when
 * it was simulated later (`$21`, kept in updated_at) and counts one more simulation; `$22` the
 * plan hash, `$23` when it was compared (after V2 read its history; null for a backfill). A
 * replaced comparison loses the actual outcome of the earlier one (its V2 may have calibrated on
 * that run: no longer a hold-out). The same input simulated at the same time is a redelivery:
 * nothing changes and no row is returned. `$24`, the input gzipped (or null), is written in the
 * same statement to costsim_provenance_inputs (migration 0029), replacing the earlier
 * simulation's: the canary runs V1 and V2 on it again.
 */
export const upsertProvenance = `
with p as (
insert into costsim_provenance as p (
  tenant_id, input_hash, source, plan_ref, skills, v1_version, v2_version, v1_hash, v2_hash,
  v1_credits, v2_credits, v1_duration_ms, v2_duration_ms, v1_p_failure, v2_p_failure,
  cost_delta, drift_score, verdict, outputs, outputs_gz, created_at, updated_at, plan_hash, compared_at)
values ($1, $2, $3, $4, CAST($5 AS text[]), $6, $7, $8, $9,
  CAST($10 AS numeric), CAST($11 AS numeric), $12, $13, $14, $15,
  CAST($16 AS numeric), $17, $18, CAST($19 AS jsonb), $20, $21, $21, $22, $23)
on conflict (tenant_id, input_hash) do update set
  source = excluded.source, plan_ref = excluded.plan_ref, plan_hash = excluded.plan_hash, skills = excluded.skills,
  v1_version = excluded.v1_version, v2_version = excluded.v2_version,
  v1_hash = excluded.v1_hash, v2_hash = excluded.v2_hash,
  v1_credits = excluded.v1_credits, v2_credits = excluded.v2_credits,
  v1_duration_ms = excluded.v1_duration_ms, v2_duration_ms = excluded.v2_duration_ms,
  v1_p_failure = excluded.v1_p_failure, v2_p_failure = excluded.v2_p_failure,
  cost_delta = excluded.cost_delta, drift_score = excluded.drift_score, verdict = excluded.verdict,
  outputs = excluded.outputs, outputs_gz = excluded.outputs_gz,
  simulations = p.simulations + 1, updated_at = excluded.updated_at, compared_at = excluded.compared_at,
  actual_credits = null, actual_duration_ms = null, actual_run_id = null, actual_at = null,
  actual_started_at = null
where p.tenant_id = $1 and p.updated_at < excluded.updated_at
returning id, simulations, (xmax = 0) as inserted, updated_at
), input as (
insert into costsim_provenance_inputs (provenance_id, tenant_id, input_gz, recorded_at)
select id, $1, CAST($24 AS bytea), updated_at from p where CAST($24 AS bytea) is not null
on conflict (provenance_id) do update set input_gz = excluded.input_gz, recorded_at = excluded.recorded_at
)
select id, simulations, inserted from p`;

/** The tenant's row of input `$2` (after an upsert that changed nothing). */
export const provenanceByHash = `
select id, simulations from costsim_provenance where tenant_id = $1 and input_hash = $2`;

/** The tenant's rows by verdict, and when the newest was recorded. */
export const verdictCounts = `
select verdict, CAST(count(*) AS integer) as n, max(updated_at) as last_at
from costsim_provenance where tenant_id = $1
group by verdict`;

/**
 * The report's quantile pass over the window (`$1` to `$4`): p50 and p90 of the cost delta over
 * the rows where V2 answered (a parallel scan under the aggregate once the window is large; the
 * sort is the leader's).
 */
export const divergenceQuantiles = `
select
  percentile_cont(CAST(ARRAY[0.5, 0.9] AS double precision[])) within group (order by cost_delta_float) as delta_q
from costsim_provenance
where ${window} and ${compared}`;

/**
 * The quartiles of the relative cost difference over the same rows: the outlier fence, needed
 * only when the counts cannot bound it below the drift threshold.
 */
export const relQuartiles = `
select percentile_cont(CAST(ARRAY[0.25, 0.75] AS double precision[])) within group (order by cost_rel) as rel_q
from costsim_provenance
where ${window} and ${compared}`;

/**
 * The report's counting pass, run beside the quantile pass in the same snapshot: rows per verdict
 * and packed KL bin (null where V2 did not answer); how many have a relative cost difference
 * beyond the drift threshold `$5` (the outliers whenever the fence, Q3 + 3 IQR, is no higher than
 * the threshold) and how many one below `$6`, a quarter of it (when three quarters and more of
 * the compared rows are, Q3 is below a quarter of the threshold and the fence below the
 * threshold: no sort of the differences is needed).
 */
export const divergenceCounts = `
select verdict, kl_bin, CAST(count(*) AS integer) as n,
  CAST(count(*) filter (where cost_rel > $5) AS integer) as over_drift,
  CAST(count(*) filter (where cost_rel < $6) AS integer) as rel_low
from costsim_provenance
where ${window}
group by verdict, kl_bin`;

/** The outliers when the quartiles' fence `$5` is above the drift threshold: a third pass. */
export const outliersBeyond = `
select CAST(count(*) AS integer) as n
from costsim_provenance
where ${window} and ${compared} and kl_bin is not null and cost_rel > $5`;

/** The report's snapshot, for its second connection (importSnapshot). */
export const exportSnapshot = "select pg_export_snapshot() as snapshot";

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/;

/**
 * The second connection's first statement: the snapshot `exportSnapshot` gave. A utility
 * statement takes no parameter, so the id (Postgres's own, hex and dashes) is checked, then quoted.
 */
export function importSnapshot(id: string): string {
  if (!SNAPSHOT_ID.test(id)) throw new Error(`unexpected snapshot id ${id}`);
  return `set transaction snapshot '${id}'`;
}

/**
 * V1's and V2's median absolute error against what the runs really cost and took, over the
 * window's rows with actuals (`$1` to `$4`; all of the tenant's with `$2`/`$3` wide open): hold-out
 * runs, as recordActual writes an outcome only on a comparison made before its run began (and a
 * backfilled record's own outcome).
 */
export const accuracy = `
select
  CAST(count(*) AS integer) as v1_samples,
  percentile_cont(0.5) within group (
    order by abs(CAST(v1_credits AS double precision) - CAST(actual_credits AS double precision))) as v1_cost,
  percentile_cont(0.5) within group (order by abs(v1_duration_ms - actual_duration_ms)) as v1_duration,
  CAST(count(*) filter (where ${compared}) AS integer) as v2_samples,
  percentile_cont(0.5) within group (
    order by abs(CAST(v2_credits AS double precision) - CAST(actual_credits AS double precision)))
    filter (where ${compared}) as v2_cost,
  percentile_cont(0.5) within group (order by abs(v2_duration_ms - actual_duration_ms))
    filter (where ${compared}) as v2_duration
from costsim_provenance
where ${window} and actual_credits is not null and actual_duration_ms is not null`;

/**
 * The report's transactions (these settings end with them): sorts in memory, no JIT compile (it
 * costs more than it saves on a few columns), and a parallel scan under the quantile pass once the
 * window is large (a Gather passes each row on for less than the default's 0.1; small windows keep
 * their index scan). Measured on 1,000,000 rows (bench:costsim (b), README).
 */
export const reportSettings = `select set_config('work_mem', '64MB', true), set_config('jit', 'off', true),
  set_config('parallel_tuple_cost', '0', true)`;

/**
 * `$1` before, `$2` batch: comparisons created before the retention cutoff deleted, a batch at a
 * time, each tenant's oldest first through its (tenant_id, created_at) index (no index on
 * created_at alone for every shadow insert to keep up); their recorded inputs go with them (on
 * delete cascade). The ids as an array, so the rows are found by primary key: with `in (select
 * ...)` the planner hash-joins a batch against a scan of the whole table (seen at 400,000 rows).
 */
export const trimProvenance = `delete from costsim_provenance where id = any(array(
  select old.id from tenants t cross join lateral (
    select id from costsim_provenance where tenant_id = t.id and created_at < $1 order by created_at limit $2) old
  limit $2))`;
