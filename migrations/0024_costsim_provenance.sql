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
  -- Costsim.hashOf of the plan V1 priced (no options: the available credits change between a
  -- simulate and a run). A workflow run keeps the same hash (its estimate.plan_hash) and, when it
  -- finishes, writes its actual_* on the tenant's rows of that plan. Null for records without a plan.
  plan_hash text,
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
  -- When the newest comparison recorded here was simulated (the writer sets it): a record with the
  -- same input and the same time is a redelivery and changes nothing.
  updated_at timestamptz not null default now(),
  -- Computed by Postgres for the divergence report, so that it aggregates plain float8 and
  -- integer columns in two scans with no per-row numeric arithmetic (1,000,000 rows at >= 0.5x a bare percentile_cont):
  -- the relative cost difference |v2 - v1| / max(|v1|, |v2|) in float8 as Costsim's
  -- relativeDifference computes it (the outlier figure), and the four KL bins of the row
  -- (Costsim.COST_BINS for v1 and v2 credits, DURATION_BINS_MS for v1 and v2 durations; the lower
  -- edges after the first, so width_bucket answers the bin index), packed ((b1*16+b2)*16+b3)*16+b4.
  -- The cost delta as float8 (what percentile_cont sorts: cast once at write, not per report row).
  -- All three null where V2 did not answer. Writers never set them.
  cost_delta_float double precision generated always as (CAST(cost_delta AS double precision)) stored,
  cost_rel double precision generated always as (
    case when v2_credits is null then null
      when v1_credits = v2_credits then 0
      else abs(CAST(v2_credits AS double precision) - CAST(v1_credits AS double precision))
        / greatest(abs(CAST(v1_credits AS double precision)), abs(CAST(v2_credits AS double precision)))
    end
  ) stored,
  kl_bin integer generated always as (
    ((width_bucket(v1_credits, CAST('{1,2,5,10,20,50,100,200,500,1000,2000,5000,10000}' AS numeric[])) * 16
      + width_bucket(v2_credits, CAST('{1,2,5,10,20,50,100,200,500,1000,2000,5000,10000}' AS numeric[]))) * 16
      + width_bucket(v1_duration_ms, CAST('{100,250,500,1000,2500,5000,10000,30000,60000,300000,900000,3600000}' AS double precision[]))) * 16
      + width_bucket(v2_duration_ms, CAST('{100,250,500,1000,2500,5000,10000,30000,60000,300000,900000,3600000}' AS double precision[]))
  ) stored,
  unique (tenant_id, input_hash)
);

-- A tenant's rows by time, covering what the divergence report reads of every row (its two
-- passes are index-only scans of this, a third of the table's width, once vacuum has marked the
-- pages all-visible).
create index costsim_provenance_tenant_created_idx on costsim_provenance (tenant_id, created_at)
  include (verdict, kl_bin, cost_rel, cost_delta_float, v2_duration_ms, skills);
create index costsim_provenance_skills_idx on costsim_provenance using gin (skills);
-- The rows whose plan then ran (actual_* recorded), covering what the report's accuracy reads.
create index costsim_provenance_actuals_idx on costsim_provenance (tenant_id, created_at)
  include (verdict, cost_rel, cost_delta_float, v2_duration_ms, v1_credits, v2_credits, v1_duration_ms,
    actual_credits, actual_duration_ms, skills)
  where actual_credits is not null and actual_duration_ms is not null;

create index costsim_provenance_plan_idx on costsim_provenance (tenant_id, plan_hash) where plan_hash is not null;

-- migrate:down

drop table costsim_provenance;
