/**
 * The drift breaker's SQL (breaker.ts): its evaluations (costsim_cb_evaluations), the figures
 * they judge (every tenant's shadow comparisons: the breaker is the platform's, one for all, and
 * its figures are aggregates that name no tenant) and its incidents (costsim_cb_incidents). The
 * breaker's state itself is the platform breaker's row (circuit_breaker_state, kind 'costsim').
 * Times are parameters from `clock()`.
 */

/** $1 bucket, $2 now: this bucket's evaluation, unless another worker took it (no row then). */
export const claimEvaluation = `insert into costsim_cb_evaluations (bucket, started_at)
  values ($1, CAST($2 AS timestamptz))
  on conflict (bucket) do nothing
  returning id`;

/**
 * $1 the drift window's start, $2 the schema errors' window start, $3 now, $4 the drift
 * threshold. Comparisons by `compared_at` (the shadow's; backfilled rows have none), through
 * costsim_provenance_compared_idx.
 */
export const windowFigures = `select
    CAST(count(*) filter (where compared_at > $1 and drift_score is not null) AS integer) as samples,
    percentile_cont(0.95) within group (order by drift_score)
      filter (where compared_at > $1 and drift_score is not null) as p95_drift,
    CAST(count(*) filter (where compared_at > $1 and drift_score > $4) AS integer) as over_threshold,
    CAST(count(*) filter (where compared_at > $2 and verdict = 'v2_error') AS integer) as schema_errors
  from costsim_provenance
  where compared_at > least(CAST($1 AS timestamptz), CAST($2 AS timestamptz)) and compared_at <= $3`;

/** $1 id, $2 outcome, $3 figures, $4 consecutive failures after it, $5 tripped. */
export const finishEvaluation = `update costsim_cb_evaluations
  set outcome = $2, figures = $3, consecutive_failures = $4, tripped = $5
  where id = $1`;

/** The latest finished evaluation. */
export const lastEvaluation = `select started_at, outcome, figures, consecutive_failures, tripped
  from costsim_cb_evaluations where outcome is not null
  order by started_at desc limit 1`;

/** $1 before: evaluations older than this deleted (they are figures, not the record: incidents are). */
export const trimEvaluations = `delete from costsim_cb_evaluations where started_at < $1`;

const incidentColumns = `id, trigger, reason, figures, opened_at, disabled_until, resolved_at, resolution,
  resolved_by, resolution_reason`;

/** $1 trigger, $2 reason, $3 figures, $4 opened at, $5 disabled until. */
export const insertIncident = `insert into costsim_cb_incidents (trigger, reason, figures, opened_at, disabled_until)
  values ($1, $2, $3, $4, $5)
  returning ${incidentColumns}`;

/** $1 disabled until: the open incidents (a trip while open) carry the new end. */
export const extendOpenIncidents = `update costsim_cb_incidents set disabled_until = $1
  where resolved_at is null
  returning ${incidentColumns}`;

/** $1 now, $2 resolution, $3 by whom, $4 why: every open incident ends. */
export const resolveOpenIncidents = `update costsim_cb_incidents
  set resolved_at = $1, resolution = $2, resolved_by = $3, resolution_reason = $4
  where resolved_at is null
  returning ${incidentColumns}`;

/** $1 limit, $2 cursor time (or null), $3 cursor id, $4 open (true), resolved (false) or both (null). Newest first. */
export const listIncidents = `select ${incidentColumns} from costsim_cb_incidents
  where (CAST($2 AS timestamptz) is null or (opened_at, id) < (CAST($2 AS timestamptz), CAST($3 AS uuid)))
    and (CAST($4 AS boolean) is null or (resolved_at is null) = CAST($4 AS boolean))
  order by opened_at desc, id desc
  limit $1`;

/** The open incident, if any (the newest). */
export const openIncident = `select ${incidentColumns} from costsim_cb_incidents
  where resolved_at is null order by opened_at desc, id desc limit 1`;

export interface IncidentRow {
  id: string;
  trigger: "drift" | "schema_errors" | "canary";
  reason: string;
  figures: Record<string, unknown>;
  opened_at: Date;
  disabled_until: Date;
  resolved_at: Date | null;
  resolution: "auto_recovery" | "reset" | null;
  resolved_by: string | null;
  resolution_reason: string | null;
}

export interface EvaluationRow {
  started_at: Date;
  outcome: "pass" | "fail" | "insufficient_data";
  figures: Record<string, unknown>;
  consecutive_failures: number | null;
  tripped: boolean;
}
