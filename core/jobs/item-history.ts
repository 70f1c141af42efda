/**
 * Done items' durations per task, as cost simulation's V2 reads them (ItemDurations): costsim
 * cannot import jobs (jobs will call costsim), so the caller reads them here and passes them in.
 */
import { useTenant } from "../context.ts";
import { query } from "../platform/db/index.ts";
import * as sql from "./item-history.sql.ts";

/** One task's done items: how many, their median and p95 duration (null without items). */
export interface ItemDurations {
  task: string;
  samples: number;
  duration_p50_ms: number | null;
  duration_p95_ms: number | null;
}

/**
 * The caller's tenant's item durations of each task (up to 1000 done items of its newest jobs).
 *
 * @example
 *   await Jobs.itemDurations(["voyage_embed"]); // [{ task: "voyage_embed", samples: 250, duration_p50_ms: 410, ... }]
 */
export async function itemDurations(tasks: readonly string[]): Promise<ItemDurations[]> {
  const tenantId = useTenant();
  const out: ItemDurations[] = [];
  for (const task of tasks) {
    const { rows } = await query<Omit<ItemDurations, "task">>(sql.itemDurationsOf, [tenantId, task]);
    const r = rows[0];
    if (r && r.samples > 0) out.push({ task, ...r });
  }
  return out;
}
