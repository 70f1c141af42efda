-- The failure catalog (core/failures, seed PIN-048): every failure AOS meets, matched to a catalog
-- entry (or recorded as a miss), with its recovery tracked. The seed's 23 columns and 12 indexes,
-- by their names; `tenant_id` NOT NULL from the start (the seed's P1 enforcement). Timestamps are
-- timestamptz (the seed's TIMESTAMP is local time, which AOS never stores).
--
-- A record carries its own id (core/failures/record.ts): a write that timed out and went through
-- the FailureRecords queue inserts `on conflict (id) do nothing`, so a redelivery is harmless.
--
-- The application role inserts, reads and (retention) deletes rows, and may change only the
-- recovery columns: the error, its match and its context are what happened and stay as recorded. aos_grant_app_role
-- (0012) grants UPDATE on every table after each `migrate up`, so it is wrapped: the 0012 body
-- runs, then UPDATE on failure_matches is taken back and granted per column.
-- migrate:up
create table failure_matches (
  -- Identity
  id uuid primary key,
  run_id varchar not null,
  tenant_id uuid not null references tenants(id),

  -- Error details
  error_code varchar(255) not null,
  error_message text,
  catalog_entry_id varchar(100),
  match_type varchar(20),
  match_confidence double precision,

  -- Classification
  category varchar(50),
  severity varchar(20),
  is_retryable boolean default false,

  -- Recovery
  recovery_mode varchar(50),
  recovery_suggestion text,
  recovery_attempted boolean default false,
  recovery_succeeded boolean default false,
  recovered_at timestamptz,
  recovered_by varchar(100),
  recovery_notes text,

  -- Context
  skill_id varchar(100),
  step_index integer,
  context_json jsonb,

  -- Timestamps
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  constraint failure_matches_match_type_check
    check (match_type is null or match_type in ('exact_code', 'kind_cause', 'message_pattern', 'similarity', 'miss')),
  constraint failure_matches_confidence_check
    check (match_confidence is null or (match_confidence >= 0 and match_confidence <= 1))
);

create index idx_fm_run_id on failure_matches (run_id);
create index idx_fm_tenant_id on failure_matches (tenant_id);
create index idx_fm_error_code on failure_matches (error_code);
create index idx_fm_catalog_entry_id on failure_matches (catalog_entry_id);
create index idx_fm_created_at on failure_matches (created_at);
create index idx_fm_category on failure_matches (category);
create index idx_fm_severity on failure_matches (severity);
create index idx_fm_recovery_mode on failure_matches (recovery_mode);
create index idx_fm_tenant_error on failure_matches (tenant_id, error_code);
create index idx_fm_tenant_time on failure_matches (tenant_id, created_at desc);
-- Partial indexes without a time filter (now() may not appear in an index predicate: the seed's
-- lesson); the window is applied at query time.
create index idx_fm_recovery_pending on failure_matches (tenant_id, created_at desc)
  where recovery_succeeded is not true;
create index idx_fm_recent_misses on failure_matches (tenant_id, created_at desc)
  where catalog_entry_id is null;

alter function aos_grant_app_role(text) rename to aos_grant_app_role_0012;

create function aos_grant_app_role(p_role text) returns void
language plpgsql as $$
begin
  perform aos_grant_app_role_0012(p_role);
  if p_role is null or p_role = '' or p_role = current_user then
    return;
  end if;
  if to_regclass('public.failure_matches') is not null then
    -- DELETE stays: the retention cron (FAILURE_RETENTION_DAYS) deletes old records.
    execute format('revoke update on failure_matches from %I', p_role);
    execute format(
      'grant update (recovery_attempted, recovery_succeeded, recovered_at, recovered_by, recovery_notes, updated_at) on failure_matches to %I',
      p_role);
  end if;
end
$$;
revoke all on function aos_grant_app_role(text) from public;
revoke all on function aos_grant_app_role_0012(text) from public;

select aos_grant_app_role(current_setting('aos.app_role', true));

-- migrate:down
drop function aos_grant_app_role(text);
alter function aos_grant_app_role_0012(text) rename to aos_grant_app_role;
drop table failure_matches;
