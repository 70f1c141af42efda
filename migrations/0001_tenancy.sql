-- Tenants and their API keys.
-- migrate:up
create table tenants (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  status text not null default 'active' check (status in ('active', 'suspended')),
  created_at timestamptz not null default now()
);

-- A key is `aos_<prefix><secret>`: the first 12 characters after `aos_` are stored in clear as
-- `prefix` for lookup; the whole key only as its SHA-256.
create table api_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  name text not null default '' check (length(name) <= 200),
  role text not null check (role in ('admin', 'operator', 'agent', 'viewer')),
  prefix text not null unique,
  key_hash bytea not null check (length(key_hash) = 32),
  created_by uuid references api_keys (id),
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_tenant_created_idx on api_keys (tenant_id, created_at desc, id desc);

-- migrate:down
drop table api_keys;
drop table tenants;
