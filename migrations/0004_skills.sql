-- Skills: idempotent executions and the circuit breakers shared by every Lambda instance.
-- migrate:up

-- The platform's own tenant: owner of what no customer tenant owns, such as the breakers of
-- shared targets (Slack, Voyage), whose transitions are recorded in status_history under it.
insert into tenants (id, slug, name)
values ('00000000-0000-0000-0000-000000000000', 'system', 'AOS platform (shared resources)')
on conflict do nothing;

-- One row per (tenant, skill, idempotency key): the first call inserts it as `running` and
-- executes; a later call with the same key gets the stored result (same args), a conflict
-- (other args) or "in progress". A running row whose lease ended belongs to a caller presumed
-- dead, and the next call takes it over. A retryable failure deletes the row (the key is free
-- again); a final failure is stored and answered like a result.
create table skill_executions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  skill text not null check (skill ~ '^[a-z][a-z0-9_]{0,62}$'),
  skill_version text not null check (length(skill_version) between 1 and 32),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  args_hash text not null check (args_hash ~ '^[0-9a-f]{64}$'),
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  result jsonb,
  -- A stored final failure: { kind, code, message, details } (never a stack or cause).
  error jsonb check (error is null or jsonb_typeof(error) = 'object'),
  -- How many callers started executing under this key (more than 1 after a takeover).
  attempts integer not null default 1 check (attempts >= 1),
  lease_until timestamptz not null,
  duration_ms integer check (duration_ms >= 0),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (tenant_id, skill, idempotency_key),
  check (status <> 'succeeded' or result is not null),
  check ((status = 'failed') = (error is not null))
);
-- The sweep of keys past their retention.
create index skill_executions_created_idx on skill_executions (created_at);

-- A circuit breaker per external target. `tenant_id` is null for a target every tenant shares
-- (the Slack and Voyage APIs, called with AOS's own credentials) and set for a target that only
-- one tenant calls (the host of its webhooks), so one tenant's failing receiver never opens a
-- breaker for another and the target's name never reaches another tenant.
create table circuit_breaker_state (
  id bigint generated always as identity primary key,
  tenant_id uuid references tenants (id),
  target text not null check (length(target) between 1 and 300),
  state text not null default 'CLOSED' check (state in ('CLOSED', 'OPEN', 'HALF_OPEN')),
  failure_count integer not null default 0 check (failure_count >= 0),
  last_failure_at timestamptz,
  last_error text check (length(last_error) <= 1000),
  opened_at timestamptz,
  cooldown_until timestamptz,
  -- HALF_OPEN: the one call let through as the probe, and when its permit lapses (a probe whose
  -- caller died must not keep the breaker half-open forever).
  probe_id uuid,
  probe_until timestamptz,
  updated_at timestamptz not null default now(),
  unique nulls not distinct (tenant_id, target)
);

-- migrate:down
drop table circuit_breaker_state;
drop table skill_executions;
-- Refused (by status_history's foreign key) once anything was recorded under it: that history
-- is not the migration's to throw away.
delete from tenants where id = '00000000-0000-0000-0000-000000000000';
