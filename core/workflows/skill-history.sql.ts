/** SQL of the skill history cost simulation calibrates from (skill-history.ts). */

/**
 * The tenant's (`$1`) skill_metrics rows (hourly rollups of workflow_ops) of skills `$2` since
 * `$3`, newest hours first, at most `$4`.
 */
export const skillMetricsOf = `
select skill_name, calls, failures,
  CAST(duration_p50_ms AS double precision) as duration_p50_ms,
  CAST(duration_p95_ms AS double precision) as duration_p95_ms,
  CAST(units_per_call AS double precision) as units_per_call
from skill_metrics
where tenant_id = $1 and skill_name = any(CAST($2 AS text[])) and hour >= $3
order by hour desc
limit $4`;
