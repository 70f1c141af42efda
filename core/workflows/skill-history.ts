/**
 * The tenant's recorded skill calls as cost simulation's V2 reads them: skill_metrics' hourly rows
 * (calls, failures, duration quantiles, units per call) of the skills a plan calls. Costsim cannot
 * import workflows (workflows will call costsim), so the caller reads them here and passes them in.
 */
import { useTenant } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import * as sql from "./skill-history.sql.ts";

/** One hour of one skill's calls (the shape Costsim's SkillMetricsRow takes). */
export interface SkillMetricsRow {
  skill_name: string;
  calls: number;
  failures: number;
  duration_p50_ms: number | null;
  duration_p95_ms: number | null;
  units_per_call: number | null;
}

/** Hours of skill_metrics read at most: 30 days of one skill called every hour, for a few skills. */
const MAX_ROWS = 5000;

/**
 * The caller's tenant's skill_metrics rows of `skills` over the last `days` days, newest first.
 *
 * @example
 *   await Workflows.skillMetrics(["voyage_embed"]); // [{ skill_name: "voyage_embed", calls: 40, ... }]
 */
export async function skillMetrics(skills: readonly string[], days = 30): Promise<SkillMetricsRow[]> {
  if (skills.length === 0) return [];
  const since = new Date(clock().now().getTime() - days * 86_400_000);
  const { rows } = await query<SkillMetricsRow>(sql.skillMetricsOf, [useTenant(), [...skills], since, MAX_ROWS]);
  return rows;
}
