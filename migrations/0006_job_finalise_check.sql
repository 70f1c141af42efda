-- Jobs: the check that lets most item completions skip the "is the job finished?" round trip.
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

-- migrate:down
drop function job_has_pending(uuid);
