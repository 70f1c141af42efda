-- Cost simulation (issue 18, seed 004 M6.2/M6.4): one row per tenant and simulate input
-- (`input_hash`, Costsim.hashOf of plan + options) comparing the V1 reply the caller got with the
-- V2 reply computed in the shadow (`source = 'shadow'`) or by the backfill CLI (`'backfill'`).
-- A repeated input updates its row (the newest comparison wins, `simulations` counts them), so a
-- redelivered shadow message never adds a row. The divergence report aggregates the numeric
-- columns (never `outputs`); `outputs` keeps both replies for an operator, or `outputs_gz` holds
-- the gzip of the same JSON when COSTSIM_PROVENANCE_COMPRESS is on. The actual_* columns are
-- filled once a simulated plan has run, for V1's and V2's error against what happened.
-- migrate:up

create table costsim_provenance (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  input_hash text not null,
  source text not null check (source in ('shadow', 'backfill')),
  -- 'workflow:<name>@<version>' | 'job:<task>' | 'inline'
  plan_ref text,
  -- The skills the plan calls: the divergence report's ?skill= filter.
  skills text[] not null default '{}',
  v1_version text not null,
  v2_version text,
  v1_hash text not null,
  v2_hash text,
  v1_credits numeric not null,
  v2_credits numeric,
  v1_duration_ms double precision not null,
  v2_duration_ms double precision,
  v1_p_failure double precision,
  v2_p_failure double precision,
  -- v2 - v1 credits
  cost_delta numeric,
  drift_score double precision,
  verdict text not null check (verdict in ('match', 'minor_drift', 'major_drift', 'mismatch', 'v2_error')),
  -- {v1, v2 | null, v2_error | null}; null when stored compressed in outputs_gz.
  outputs jsonb,
  outputs_gz bytea,
  simulations integer not null default 1,
  actual_credits numeric,
  actual_duration_ms double precision,
  actual_run_id uuid,
  actual_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, input_hash)
);

create index costsim_provenance_tenant_created_idx on costsim_provenance (tenant_id, created_at);
create index costsim_provenance_skills_idx on costsim_provenance using gin (skills);

-- migrate:down

drop table costsim_provenance;
