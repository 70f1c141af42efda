/**
 * bench:costsim (b), the divergence report over many provenance rows: `rows` comparisons of one
 * tenant written by one INSERT ... SELECT generate_series, with spreads like a shadow's:
 *
 * - V1 credits lognormal (median about 4.5, a long tail to thousands), durations lognormal
 *   (median about 3 s);
 * - V2 near V1 for most rows (80% within 5%), some drifting (15% by 10-35%), a few far off
 *   (5% by 50-200%); 2% V2 errors (no V2 side), 0.5% feasibility mismatches;
 * - drift score and verdict as compare.ts computes them (0.6 rel credits + 0.25 rel duration +
 *   0.15 |p_failure difference|, > 0.2 major, > 0.15 minor); 10% carry actual outcomes;
 * - created over the last 30 days; skills from the registry's four; `outputs` a small jsonb.
 *
 * Then the report and a bare SQL baseline over the same rows (H1's: one percentile_cont of the
 * cost delta, the least a report must do) run alternately, warm, each timed end to end.
 */
import type pg from "pg";

/** The generator: `$1` tenant, `$2` rows. Box-Muller normals (Postgres 15 has no random_normal). */
export const generateSql = `
insert into costsim_provenance (
  tenant_id, input_hash, source, plan_ref, skills, v1_version, v2_version, v1_hash, v2_hash,
  v1_credits, v2_credits, v1_duration_ms, v2_duration_ms, v1_p_failure, v2_p_failure,
  cost_delta, drift_score, verdict, outputs, actual_credits, actual_duration_ms, actual_at, created_at, updated_at)
select $1, md5('in' || i), 'shadow', 'workflow:w' || (i % 50) || '@1',
  (array[array['kv_store','voyage_embed'], array['webhook_send','slack_send'], array['voyage_embed','webhook_send'], array['kv_store','slack_send']])[1 + i % 4][1:2],
  'v1', case when err then null else 'v2' end, md5('a' || i), case when err then null else md5('b' || i) end,
  v1c, v2c, v1d, v2d, p1, p2,
  case when err then null else v2c - v1c end,
  drift,
  case when err then 'v2_error' when mismatch then 'mismatch' when drift > 0.2 then 'major_drift'
    when drift > 0.15 then 'minor_drift' else 'match' end,
  jsonb_build_object('v1', jsonb_build_object('credits', v1c, 'duration_ms', v1d),
    'v2', case when err then null else jsonb_build_object('credits', v2c, 'duration_ms', v2d) end),
  case when actual then round(v1c * CAST(0.7 + 0.6 * u4 AS numeric), 4) end,
  case when actual then round(v1d * (0.5 + u4)) end,
  case when actual then created end,
  created, created
from (
  select i, err, mismatch, actual, v1c, v2c, v1d, v2d, p1, p2, u4, created,
    case when err then null else least(1, round(CAST(
      0.6 * CAST(abs(v2c - v1c) / greatest(v1c, v2c, 0.0001) AS float8)
      + 0.25 * abs(v2d - v1d) / greatest(v1d, v2d, 1)
      + 0.15 * CAST(abs(p2 - p1) AS float8) AS numeric), 4)) end as drift
  from (
    select i, err, mismatch, actual, u4, created, p1, p2, v1c, v1d,
      case when err then null when u2 < 0.5 then round(v1c / CAST(1 + spread AS numeric), 4)
        else round(v1c * CAST(1 + spread AS numeric), 4) end as v2c,
      case when err then null when u3 < 0.5 then round(v1d / (1 + 0.8 * spread)) else round(v1d * (1 + 0.8 * spread)) end as v2d
    from (
      select i, u1 < 0.02 as err, u1 between 0.02 and 0.025 as mismatch, u5 < 0.1 as actual, u2, u3, u4,
        now() - interval '30 days' * u5 as created,
        round(CAST(exp(1.5 + 1.2 * n1) AS numeric), 4) as v1c,
        round(exp(8 + 0.9 * n2)) as v1d,
        round(CAST(0.01 + 0.1 * u3 AS numeric), 4) as p1,
        round(CAST(0.01 + 0.1 * u2 AS numeric), 4) as p2,
        case when u6 < 0.8 then 0.05 * u4 when u6 < 0.95 then 0.1 + 0.25 * u4 else 0.5 + 1.5 * u4 end as spread
      from (
        select i, random() as u1, random() as u2, random() as u3, random() as u4, random() as u5, random() as u6,
          sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) as n1,
          sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) as n2
        from generate_series(1, $2) as g(i)
      ) draws
    ) figures
  ) compared
) scored`;

/** The bare baseline: one percentile_cont over the tenant's cost deltas. */
export const baselineSql =
  "select percentile_cont(0.5) within group (order by cost_delta) as p50 from costsim_provenance where tenant_id = $1";

/** Write `rows` comparisons for `tenantId`; seconds taken. Analyzed afterwards, as autovacuum would. */
export async function generate(client: pg.Client, tenantId: string, rows: number): Promise<number> {
  const t0 = performance.now();
  await client.query(generateSql, [tenantId, rows]);
  await client.query("vacuum analyze costsim_provenance");
  return (performance.now() - t0) / 1000;
}
