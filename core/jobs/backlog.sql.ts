/**
 * The SQL of the backlog gauges the sweeper records once per run (backlog.ts). Each count reads
 * a partial index of open items (pending, claimed); the oldest running job that still has pending
 * items comes from the unsettled jobs' index. `$1` is the instant before which an ended lease
 * counts as stuck (decided by `clock()` in JS).
 */
export const backlog = `select
      (select CAST(count(*) AS integer) from job_items where status = 'pending') as pending,
      (select CAST(count(*) AS integer) from job_items where status = 'claimed') as claimed,
      (select CAST(count(*) AS integer) from job_items where status = 'claimed' and lease_until < $1) as stuck,
      (select min(j.created_at) from jobs j
        where j.settled_at is null and j.status = 'running'
          and exists (select 1 from job_items i where i.job_id = j.id and i.status = 'pending')) as oldest`;

export interface BacklogRow {
  pending: number;
  claimed: number;
  stuck: number;
  oldest: Date | null;
}
