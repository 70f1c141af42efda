/**
 * The tenant's history cost simulation's V2 calibrates from, read from the domains that own it:
 * skill_metrics (workflows), done items' durations (jobs, for a job's task) and the failure
 * catalog's shares. core/costsim cannot import workflows or jobs (they call costsim), so the V2
 * route and the CostsimShadow consumer hand this reader to it (`Costsim.HistoryReader`).
 */
import type { HistoryReader } from "../../core/costsim/index.ts";
import * as Failures from "../../core/failures/index.ts";
import * as Jobs from "../../core/jobs/index.ts";
import * as Workflows from "../../core/workflows/index.ts";

/** Days of history V2 reads. */
export const HISTORY_DAYS = 30;

export const readHistory: HistoryReader = async ({ kind, name, skills }) => {
  const [skillMetrics, jobItems, failures] = await Promise.all([
    Workflows.skillMetrics(skills, HISTORY_DAYS),
    kind === "job" && name ? Jobs.itemDurations([name]) : Promise.resolve([]),
    Failures.failureShares(skills, HISTORY_DAYS),
  ]);
  return { skill_metrics: skillMetrics, job_items: jobItems, failures };
};
