/** SQL of the item durations cost simulation calibrates from (item-history.ts). */
import { sqlLiterals } from "../platform/db/literal.ts";
import { ItemStates } from "./states.ts";

const I = sqlLiterals(ItemStates);

/**
 * The median and p95 duration of the done items of the tenant's (`$1`) newest jobs of task `$2`,
 * at most 1000 items (also jobs' simulate: newest jobs through jobs_tenant_created_idx, each job's
 * items through its (job_id, idx) index), and how many there were.
 */
export const itemDurationsOf = `
select CAST(count(*) AS integer) as samples,
  percentile_cont(0.5) within group (order by d.duration_ms) as duration_p50_ms,
  percentile_cont(0.95) within group (order by d.duration_ms) as duration_p95_ms
from (
  select i.duration_ms from jobs j
  cross join lateral (
    select i.duration_ms from job_items i
    where i.job_id = j.id and i.status = ${I.done} and i.duration_ms is not null
    limit 1000
  ) i
  where j.tenant_id = $1 and j.task = $2
  order by j.created_at desc
  limit 1000
) d`;
