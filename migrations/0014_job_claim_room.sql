-- Jobs: a job's parallelism, enforced exactly. A claim asks `job_claim_room` how many more items
-- of the job it may lease now. When the job has more items than its parallelism, the function
-- takes a transaction-scoped advisory lock on the job (class 1785686892, "jobs" in ASCII; the
-- migrator's bigint key is another key space) and only then counts the items in flight. Being
-- VOLATILE plpgsql, its count runs with a fresh snapshot taken after the lock (as
-- job_has_pending, migration 0006): it sees every claim committed by the claimer that held the
-- lock before, so concurrent claimers of one job never lease more than `parallelism` items
-- between them. A claim statement is its own transaction, so the lock lasts one claim. Only
-- claims take it: completions, failures, the sweeper and cancel never wait on it. A job with no
-- more items than its parallelism can never exceed it, and pays for neither lock nor count.
-- A lease that ended no longer counts (a claim may take that item over).
-- migrate:up
create function job_claim_room(p_job uuid, p_now timestamptz) returns integer
  language plpgsql volatile
as $$
declare
  v_parallelism integer;
  v_total integer;
  v_in_flight integer;
begin
  select parallelism, items_total into v_parallelism, v_total from jobs where id = p_job;
  if v_parallelism is null then
    return 0;
  end if;
  if v_parallelism >= v_total then
    return v_parallelism;
  end if;
  perform pg_advisory_xact_lock(1785686892, hashtext(CAST(p_job AS text)));
  select count(*) into v_in_flight from job_items
    where job_id = p_job and status = 'claimed' and lease_until >= p_now;
  return greatest(v_parallelism - v_in_flight, 0);
end
$$;

-- migrate:down
drop function job_claim_room(uuid, timestamptz);
