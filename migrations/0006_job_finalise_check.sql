-- Jobs: the check that lets most item completions skip the "is the job finished?" round trip,
-- and an index of claimed items per job.
-- migrate:up

-- Does job `p_job` still have a pending item, as committed NOW, not as of the calling
-- statement's start? A VOLATILE plpgsql function takes a fresh snapshot for its query, so
-- called from a completion's own statement (after that statement has locked and updated its
-- item), it sees every claim committed until then. A completion that sees a pending item leaves
-- finalisation to whoever finishes that item later, which then sees this completion's item
-- either committed or still locked (and waits for it); see core/jobs/items.ts.
create function job_has_pending(p_job uuid) returns boolean
  language plpgsql volatile
as $$
begin
  return exists (select 1 from job_items where job_id = p_job and status = 'pending');
end
$$;

-- The claimed items of a job (a claim counts them against the job's parallelism), not of every
-- tenant: keyed by lease end alone, a claim's count walked all claimed items of all jobs. The
-- sweeper's look for expired leases reads the whole (small: items in flight) index instead.
drop index job_items_claimed_idx;
create index job_items_claimed_idx on job_items (job_id, lease_until) where status = 'claimed';

-- migrate:down
drop index job_items_claimed_idx;
create index job_items_claimed_idx on job_items (lease_until) where status = 'claimed';
drop function job_has_pending(uuid);
