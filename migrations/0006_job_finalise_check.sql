-- Jobs: the check that lets most item completions skip the "is the job finished?" round trip,
-- and an index of claimed items per job.
-- migrate:up

-- Does job `p_job` still have a pending item, as committed NOW, not as of the calling
-- statement's start? A VOLATILE plpgsql function takes a fresh snapshot for its query, so
-- called from a completion's own statement (after that statement has locked and updated its
-- item), it sees every claim committed until then. A completion that sees a pending item leaves
-- finalisation to whoever finishes that item later, which then sees this completion's item
-- either committed or still locked (and waits for it); see core/jobs/items.ts.
-- It looks from the job's END (highest idx first): claims take items from the start, so the
-- start of job_items_pending_idx is full of entries of items claimed since the last vacuum,
-- while its end holds a live pending item until the job's last items are claimed.
create function job_has_pending(p_job uuid) returns boolean
  language plpgsql volatile
as $$
begin
  perform 1 from job_items where job_id = p_job and status = 'pending' order by idx desc limit 1;
  return found;
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
