-- Multi-agent jobs: a job of N items, claimed by SQS workers or external agents with leases, and
-- the per-tenant credits ledger that reserves every item's cost up front and settles it exactly.
-- migrate:up

-- A tenant's credits. `balance`: what it owns (grants minus charges); `reserved`: held for
-- items not yet finished. Available = balance - reserved, never below zero (checked here).
-- The row changes once per job (reserve at spawn, settle at the end, refund on cancel) and once
-- per grant, never per item, so a busy tenant's items do not queue on it.
create table credit_balances (
  tenant_id uuid primary key references tenants (id),
  balance numeric(18, 4) not null default 0 check (balance >= 0),
  reserved numeric(18, 4) not null default 0 check (reserved >= 0),
  updated_at timestamptz not null default now(),
  check (reserved <= balance)
);

create table jobs (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  -- A skill's name, or 'external' (items are claimed by agents over HTTP).
  task text not null check (task ~ '^[a-z][a-z0-9_]{0,62}$'),
  status text not null default 'running' check (status in ('running', 'completed', 'failed', 'cancelled')),
  parallelism integer not null check (parallelism between 1 and 1000),
  credits_per_item numeric(18, 4) not null check (credits_per_item >= 0),
  max_attempts integer not null check (max_attempts between 1 and 100),
  item_timeout_s integer not null check (item_timeout_s between 1 and 86400),
  items_total integer not null check (items_total between 1 and 100000),
  credits_reserved numeric(18, 4) not null,
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_by text not null,
  created_at timestamptz not null default now(),
  -- When the last item finished (or the job was cancelled with nothing in flight).
  finished_at timestamptz,
  -- When its charges and releases were applied to credit_balances: once, by finalisation.
  settled_at timestamptz
);
create index jobs_tenant_created_idx on jobs (tenant_id, created_at desc, id desc);
-- Jobs the sweeper must look at: not yet settled.
create index jobs_unsettled_idx on jobs (created_at) where settled_at is null;

create table job_items (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references jobs (id),
  tenant_id uuid not null references tenants (id),
  -- Position in the spawn request (0-based).
  idx integer not null check (idx >= 0),
  input jsonb not null,
  status text not null default 'pending'
    check (status in ('pending', 'claimed', 'done', 'failed', 'cancelled')),
  -- Claims so far; the current claim's number while claimed.
  attempt integer not null default 0 check (attempt >= 0),
  claimed_by text check (length(claimed_by) between 1 and 200),
  lease_until timestamptz,
  result jsonb,
  error jsonb check (error is null or jsonb_typeof(error) = 'object'),
  -- Last time a queue message was sent for it (the sweeper re-sends when it looks lost).
  enqueued_at timestamptz,
  claimed_at timestamptz,
  finished_at timestamptz,
  duration_ms integer check (duration_ms >= 0),
  unique (job_id, idx),
  check ((status = 'claimed') = (claimed_by is not null and lease_until is not null))
);
-- The claimable items of a job, in order: what FOR UPDATE SKIP LOCKED walks.
create index job_items_pending_idx on job_items (job_id, idx) where status = 'pending';
-- Leases to expire, and items in flight per job.
create index job_items_claimed_idx on job_items (lease_until) where status = 'claimed';
create index job_items_job_status_idx on job_items (job_id, status);
-- Durations of finished items of a task (simulation's estimates).
create index job_items_done_idx on job_items (tenant_id, finished_at desc) where status = 'done';

-- Append-only. Every movement of credits, with its effect on the balance and on the reserve:
--   grant   balance +a              (POST /credits/grants)
--   reserve reserved +a             (spawn: every item's cost, once per job)
--   charge  balance -a, reserved -a (an item done)
--   release reserved -a             (an item failed: its cost goes back)
--   refund  reserved -a             (cancellation: the cancelled items' cost goes back)
-- `idempotency_key` is unique, so a redelivered message or a repeated cancel writes nothing twice.
create table credit_ledger (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id),
  kind text not null check (kind in ('grant', 'reserve', 'charge', 'release', 'refund')),
  amount numeric(18, 4) not null check (amount >= 0),
  balance_delta numeric(18, 4) not null,
  reserved_delta numeric(18, 4) not null,
  job_id uuid references jobs (id),
  item_id uuid references job_items (id),
  idempotency_key text not null unique check (length(idempotency_key) between 1 and 200),
  reason text check (length(reason) <= 500),
  actor text not null,
  created_at timestamptz not null default now(),
  check (
    (kind = 'grant' and balance_delta = amount and reserved_delta = 0)
    or (kind = 'reserve' and balance_delta = 0 and reserved_delta = amount)
    or (kind = 'charge' and balance_delta = -amount and reserved_delta = -amount)
    or (kind in ('release', 'refund') and balance_delta = 0 and reserved_delta = -amount)
  )
);
create index credit_ledger_tenant_idx on credit_ledger (tenant_id, id desc);
create index credit_ledger_job_idx on credit_ledger (job_id) where job_id is not null;

create function credit_ledger_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'credit_ledger is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege';
end
$$;
create trigger credit_ledger_no_update_delete
  before update or delete on credit_ledger
  for each row execute function credit_ledger_refuse_change();
create trigger credit_ledger_no_truncate
  before truncate on credit_ledger
  for each statement execute function credit_ledger_refuse_change();

-- One per cancelled job: the answer a repeated cancel gets again.
create table job_cancellations (
  job_id uuid primary key references jobs (id),
  tenant_id uuid not null references tenants (id),
  completed_items integer not null,
  cancelled_items integer not null,
  in_flight_items integer not null,
  credits_refunded numeric(18, 4) not null,
  reason text check (length(reason) <= 500),
  cancelled_by text not null,
  created_at timestamptz not null default now()
);

-- migrate:down
drop table job_cancellations;
drop table credit_ledger;
drop function credit_ledger_refuse_change();
drop table job_items;
drop table jobs;
drop table credit_balances;
