/**
 * The canary's SQL (canary.ts, costsim_canary_reports): the lease row that elects one runner (the
 * unique partial index on status 'running': it holds through Neon's pooler, where session
 * advisory locks do not), the report, and the recorded inputs the canary runs V1 and V2 on again
 * (every tenant's; the report keeps aggregates that name no tenant). Times are parameters from `clock()`.
 */

const columns = `id, status, trigger, requested_by, started_at, lease_until, finished_at, report, failures`;

/** $1 now: runs whose lease ran out (their runner died) are abandoned. */
export const abandonExpired = `update costsim_canary_reports set status = 'abandoned', finished_at = $1
  where status = 'running' and lease_until < $1
  returning id`;

/** $1 trigger, $2 requested by, $3 now, $4 lease until: the leadership, or no row when a run holds it. */
export const startRun = `insert into costsim_canary_reports (status, trigger, requested_by, started_at, lease_until)
  values ('running', $1, $2, $3, $4)
  on conflict ((true)) where status = 'running' do nothing
  returning ${columns}`;

/** The run holding the leadership. */
export const runningRun = `select ${columns} from costsim_canary_reports where status = 'running'`;

/** $1 id, $2 status, $3 now, $4 report, $5 failures: the run's end, if it still holds its lease row. */
export const finishRun = `update costsim_canary_reports
  set status = $2, finished_at = $3, report = $4, failures = $5
  where id = $1 and status = 'running'
  returning ${columns}`;

/** $1 id. */
export const getReport = `select ${columns} from costsim_canary_reports where id = $1`;

/** $1 limit, $2 cursor time (or null), $3 cursor id. Newest first. */
export const listReports = `select ${columns} from costsim_canary_reports
  where (CAST($2 AS timestamptz) is null or (started_at, id) < (CAST($2 AS timestamptz), CAST($3 AS uuid)))
  order by started_at desc, id desc
  limit $1`;

/** $1 since: the latest finished run since then (the recovery's guard). */
export const latestCanarySince = `select id, status, finished_at from costsim_canary_reports
  where finished_at > $1 and status in ('passed', 'failed', 'insufficient_data')
  order by finished_at desc, id desc
  limit 1`;

/**
 * $1 from, $2 to, $3 limit: the newest recorded inputs in the window (every tenant's: the canary
 * judges V2 for all of them and reports aggregates), with the hashes their comparison recorded.
 */
export const recentInputs = `select i.input_gz, p.input_hash, p.v2_hash
  from costsim_provenance_inputs i join costsim_provenance p on p.id = i.provenance_id
  where i.recorded_at > $1 and i.recorded_at <= $2
  order by i.recorded_at desc
  limit $3`;

/** $1 before, $2 batch: inputs older than the canary's window deleted, a batch at a time (the oldest first). */
export const trimInputs = `delete from costsim_provenance_inputs
  where provenance_id in (
    select provenance_id from costsim_provenance_inputs where recorded_at < $1 order by recorded_at limit $2)`;

export interface CanaryRow {
  id: string;
  status: "running" | "passed" | "failed" | "insufficient_data" | "abandoned";
  trigger: "schedule" | "api";
  requested_by: string;
  started_at: Date;
  lease_until: Date;
  finished_at: Date | null;
  report: Record<string, unknown> | null;
  failures: string[];
}
