-- Two S3 crons (issue 15 §7, issue 16 §5).
--
-- failure_aggregates: the durable record of the daily FailureAggregation cron, one row per
-- (tenant, UTC day) it wrote to S3: the object's key, SHA-256, rows and bytes. A rerun for the
-- same day rewrites the same key and updates the row (core/failures/aggregate.ts).
--
-- Workflow ops retention (core/workflows/retention.ts): the ops of a run finished more than
-- WORKFLOW_OPS_RETENTION_DAYS ago are exported to S3, then deleted. workflow_ops stays
-- append-only for the application role (no DELETE privilege, 0012; the trigger of 0016 refuses
-- it for everyone else): the ONE path that deletes is workflow_archive_ops(), owned by the
-- owner role and SECURITY DEFINER. It deletes the ops of one run only when that run finished
-- before the cutoff (and the cutoff is not in the future) AND an export of exactly those ops is
-- recorded in workflow_ops_archives (same op count, same chain head); the trigger lets a DELETE
-- through only while that function names the run in a transaction-local setting.
-- migrate:up

create table failure_aggregates (
  tenant_id uuid not null references tenants (id),
  day date not null,
  object_key text not null,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  -- JSONL lines in the object, and the failures of the day they count.
  rows integer not null check (rows >= 0),
  failures integer not null check (failures >= 0),
  bytes bigint not null check (bytes >= 0),
  -- Times the day was (re)written, and the last one.
  runs integer not null default 1 check (runs >= 1),
  generated_at timestamptz not null,
  primary key (tenant_id, day)
);
create index failure_aggregates_day_idx on failure_aggregates (day);

-- One row per run whose ops were exported; deleted_at once they were removed.
create table workflow_ops_archives (
  workflow_run_id uuid primary key references workflow_runs (id),
  tenant_id uuid not null references tenants (id),
  object_key text not null,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  -- What the export covered: the op count and the chain head (the run's head_hash) it read.
  ops integer not null check (ops >= 0),
  head_hash text check (head_hash ~ '^[0-9a-f]{64}$'),
  bytes bigint not null check (bytes >= 0),
  exported_at timestamptz not null,
  deleted_at timestamptz,
  deleted_ops integer check (deleted_ops >= 0)
);
create index workflow_ops_archives_tenant_idx on workflow_ops_archives (tenant_id, exported_at);

-- Set by workflow_archive_ops in the transaction that removes the run's ops.
alter table workflow_runs add column ops_archived_at timestamptz;
-- The retention cron's question: finished runs, oldest first, whose ops are still here.
create index workflow_runs_retention_idx on workflow_runs (finished_at)
  where status <> 'running' and ops_archived_at is null;

-- The trigger of 0016, with one way through: a DELETE of the run that workflow_archive_ops names.
create or replace function workflow_ops_refuse_change() returns trigger
language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    if current_setting('aos.workflow_ops_archive_run', true) = CAST(old.workflow_run_id AS text) then
      return old;
    end if;
  end if;
  raise exception 'workflow_ops is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'workflow operations are never changed; only workflow_archive_ops removes an exported run''s ops';
end
$$;

-- Delete the ops of run p_run of tenant p_tenant; the number deleted, or null when they already
-- were. Refused (SQLSTATE 55000) unless the run finished before p_cutoff, p_cutoff is not in
-- the future, and workflow_ops_archives holds an export of exactly the run's ops.
create function workflow_archive_ops(p_tenant uuid, p_run uuid, p_cutoff timestamptz) returns integer
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
  r record;
  a record;
  live integer;
  n integer;
begin
  select id, status, finished_at, head_hash, ops_archived_at into r
    from public.workflow_runs where id = p_run and tenant_id = p_tenant for update;
  if not found then
    raise exception 'workflow run % of tenant % not found', p_run, p_tenant using errcode = 'no_data_found';
  end if;
  if r.ops_archived_at is not null then
    return null;
  end if;
  if p_cutoff > now() then
    raise exception 'retention cutoff % is in the future', p_cutoff using errcode = 'object_not_in_prerequisite_state';
  end if;
  if r.status not in ('completed', 'failed', 'cancelled') or r.finished_at is null or r.finished_at >= p_cutoff then
    raise exception 'workflow run % did not finish before %', p_run, p_cutoff
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  select ops, head_hash into a
    from public.workflow_ops_archives where workflow_run_id = p_run and tenant_id = p_tenant and deleted_at is null;
  if not found then
    raise exception 'workflow run % has no recorded export of its ops', p_run
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  select count(*) into live from public.workflow_ops where workflow_run_id = p_run;
  if a.ops <> live or a.head_hash is distinct from r.head_hash then
    raise exception 'the export of workflow run % covers % ops to head %, the log has % to head %',
      p_run, a.ops, a.head_hash, live, r.head_hash
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  perform set_config('aos.workflow_ops_archive_run', CAST(p_run AS text), true);
  delete from public.workflow_ops where workflow_run_id = p_run and tenant_id = p_tenant;
  get diagnostics n = row_count;
  perform set_config('aos.workflow_ops_archive_run', '', true);
  update public.workflow_ops_archives set deleted_at = now(), deleted_ops = n where workflow_run_id = p_run;
  update public.workflow_runs set ops_archived_at = now() where id = p_run;
  return n;
end
$$;
revoke all on function workflow_archive_ops(uuid, uuid, timestamptz) from public;

-- The application role may call the one delete path (and nothing else gets EXECUTE on it).
alter function aos_grant_app_role(text) rename to aos_grant_app_role_0015;

create function aos_grant_app_role(p_role text) returns void
language plpgsql as $$
begin
  perform aos_grant_app_role_0015(p_role);
  if p_role is null or p_role = '' or p_role = current_user then
    return;
  end if;
  if to_regprocedure('public.workflow_archive_ops(uuid, uuid, timestamptz)') is not null then
    execute format('grant execute on function workflow_archive_ops(uuid, uuid, timestamptz) to %I', p_role);
  end if;
end
$$;
revoke all on function aos_grant_app_role(text) from public;
revoke all on function aos_grant_app_role_0015(text) from public;

select aos_grant_app_role(current_setting('aos.app_role', true));

-- migrate:down
drop function aos_grant_app_role(text);
alter function aos_grant_app_role_0015(text) rename to aos_grant_app_role;
drop function workflow_archive_ops(uuid, uuid, timestamptz);
create or replace function workflow_ops_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'workflow_ops is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'workflow operations are never changed or removed';
end
$$;
drop index workflow_runs_retention_idx;
alter table workflow_runs drop column ops_archived_at;
drop table workflow_ops_archives;
drop table failure_aggregates;
