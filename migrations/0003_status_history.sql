-- Status history: the append-only audit trail of every status change of every AOS entity, and
-- the exports of it to S3.
-- migrate:up
create table status_history (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id),
  entity_type text not null check (entity_type ~ '^[a-z][a-z0-9_]{0,62}$'),
  entity_id text not null check (length(entity_id) between 1 and 200),
  old_status text check (length(old_status) between 1 and 64),
  new_status text not null check (length(new_status) between 1 and 64),
  actor text not null check (length(actor) between 1 and 200),
  reason text check (length(reason) <= 2000),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  correlation_id text check (length(correlation_id) <= 200),
  created_at timestamptz not null default now()
);
-- Listing and exports: a tenant's rows by time; an entity's rows in order. The time index
-- carries entity_type and new_status so stats over a window are an index-only scan.
create index status_history_tenant_time_idx on status_history (tenant_id, created_at, id)
  include (entity_type, new_status);
create index status_history_tenant_entity_idx on status_history (tenant_id, entity_type, entity_id, created_at, id);

-- Immutability is the database's job, not the application's: UPDATE, DELETE and TRUNCATE are
-- refused for every role that cannot drop these triggers (only the table's owner can, and
-- that is the migration role's business, not the application's).
create function status_history_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'status_history is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'status history rows are never changed or removed';
end
$$;
create trigger status_history_no_update_delete
  before update or delete on status_history
  for each row execute function status_history_refuse_change();
create trigger status_history_no_truncate
  before truncate on status_history
  for each statement execute function status_history_refuse_change();

-- An export of a tenant's status history to one S3 object (CSV or JSONL, optionally gzip),
-- produced by the StatusHistoryExports queue. The object key is derived from the id, so running
-- an export twice overwrites one object instead of writing two.
create table status_history_exports (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  status text not null default 'pending'
    check (status in ('pending', 'running', 'ready', 'failed', 'expired')),
  format text not null check (format in ('csv', 'jsonl')),
  gzip boolean not null default false,
  -- The request's filters, with `until` fixed at request time when the caller gave none.
  filters jsonb not null default '{}' check (jsonb_typeof(filters) = 'object'),
  -- The highest id visible when the export was asked for: later rows are excluded, so every
  -- attempt reads the same rows (except a row of a transaction still open at that moment that
  -- commits later with a lower id: ids are taken at insert, not at commit).
  max_id bigint not null,
  object_key text not null,
  row_count bigint,
  bytes bigint,
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  attempts int not null default 0,
  -- A running attempt owns the export until then; another delivery waits or takes over after it.
  lease_until timestamptz,
  last_error text,
  requested_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  expires_at timestamptz,
  check (status <> 'ready' or (row_count is not null and bytes is not null and sha256 is not null
    and expires_at is not null))
);
create index status_history_exports_tenant_idx on status_history_exports (tenant_id, created_at desc, id desc);
-- The sweeper's two questions: which ready exports are past their TTL, which are stuck unsent.
create index status_history_exports_expiry_idx on status_history_exports (expires_at) where status = 'ready';
create index status_history_exports_open_idx on status_history_exports (updated_at)
  where status in ('pending', 'running');

-- migrate:down
drop table status_history_exports;
drop table status_history;
drop function status_history_refuse_change();
