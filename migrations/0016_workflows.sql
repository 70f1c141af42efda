-- Workflows (issue 16, seed 000 PIN-060 M11): named, versioned definitions of steps; runs of
-- them, one step after another through the WorkflowSteps queue; the append-only operations
-- audit log (the seed's `ops`, hash-chained); replay verifications; the seed's workflow_summary
-- and skill_metrics as views over the log.
-- migrate:up

-- A definition: a tenant's named list of steps `{id, skill, args, transient?, timeout_s?}`.
-- Registering changed steps adds version n + 1; registering the latest steps again adds nothing.
create table workflow_definitions (
  id uuid primary key default uuid7(),
  tenant_id uuid not null references tenants (id),
  name text not null check (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  version integer not null check (version >= 1),
  steps jsonb not null check (jsonb_typeof(steps) = 'array'),
  -- SHA-256 of the steps' canonical JSON: "the same steps" is one comparison.
  steps_hash text not null check (steps_hash ~ '^[0-9a-f]{64}$'),
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (tenant_id, name, version)
);

create table workflow_runs (
  id uuid primary key default uuid7(),
  tenant_id uuid not null references tenants (id),
  definition_id uuid not null references workflow_definitions (id),
  workflow_name text not null,
  version integer not null check (version >= 1),
  status text not null default 'running' check (status in ('running', 'completed', 'failed', 'cancelled')),
  input jsonb not null default '{}',
  idempotency_key text check (length(idempotency_key) between 1 and 255),
  -- A fork: the run whose recorded results before `fork_op_index` it reuses.
  forked_from uuid references workflow_runs (id),
  fork_op_index integer check (fork_op_index >= 0),
  steps_total integer not null check (steps_total between 1 and 10000),
  -- The op the run waits for (its message names it); steps_total once finished successfully.
  next_op_index integer not null default 0 check (next_op_index >= 0),
  -- Failed attempts of the next op so far (retryable failures; the run fails at max attempts).
  attempt integer not null default 0 check (attempt >= 0),
  credits_reserved numeric(18, 4) not null default 0 check (credits_reserved >= 0),
  credits_charged numeric(18, 4) not null default 0 check (credits_charged >= 0),
  -- The hash of the last op written: the chain's head, so an edited or removed last op shows.
  head_hash text check (head_hash ~ '^[0-9a-f]{64}$'),
  error jsonb check (error is null or jsonb_typeof(error) = 'object'),
  -- The outbox (core/platform/outbox): when SQS last accepted the run's step message.
  enqueued_at timestamptz,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  unique (tenant_id, idempotency_key),
  check ((forked_from is null) = (fork_op_index is null)),
  check (credits_charged <= credits_reserved),
  check ((status = 'running') = (finished_at is null))
);
create index workflow_runs_tenant_created_idx on workflow_runs (tenant_id, created_at desc, id desc);
create index workflow_runs_tenant_name_idx on workflow_runs (tenant_id, workflow_name, created_at desc, id desc);
-- The outbox sweeper's and the stuck-run gauge's question: which runs are still running.
create index workflow_runs_running_idx on workflow_runs (updated_at) where status = 'running';

-- The operations audit log (the seed's m11_audit.ops): one row per op, written in the
-- transaction that moves its run on. Append-only: UPDATE, DELETE and TRUNCATE are refused (the
-- application role gets INSERT and SELECT only, 0012). `hash` is SHA-256 over the op's content
-- and `prev_hash` (the previous op's `hash`, null for op 0), so an edited, inserted or removed
-- row breaks the chain; the run's head_hash closes it.
create table workflow_ops (
  op_id uuid primary key default uuid7(),
  tenant_id uuid not null references tenants (id),
  workflow_run_id uuid not null references workflow_runs (id),
  op_index integer not null check (op_index >= 0),
  -- The step's id in the definition and the skill it ran (the seed's op_type).
  step_id text not null,
  op_type text not null,
  skill_version text,
  args jsonb not null,
  args_hash text not null check (args_hash ~ '^[0-9a-f]{64}$'),
  result jsonb,
  result_hash text check (result_hash ~ '^[0-9a-f]{64}$'),
  status text not null check (status in ('succeeded', 'failed')),
  error_code text,
  error_message text check (length(error_message) <= 2000),
  duration_ms integer check (duration_ms >= 0),
  transient boolean not null default false,
  idempotency_key text,
  -- What the op was charged.
  credits numeric(18, 4) not null default 0 check (credits >= 0),
  prev_hash text check (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text not null check (hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (workflow_run_id, op_index),
  check ((status = 'succeeded') = (result_hash is not null))
);
create index workflow_ops_tenant_time_idx on workflow_ops (tenant_id, completed_at);

create function workflow_ops_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'workflow_ops is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'workflow operations are never changed or removed';
end
$$;
create trigger workflow_ops_no_update_delete
  before update or delete on workflow_ops
  for each row execute function workflow_ops_refuse_change();
create trigger workflow_ops_no_truncate
  before truncate on workflow_ops
  for each statement execute function workflow_ops_refuse_change();

-- The seed's next_op_index: the op a run records next (0-based here).
create function workflow_next_op_index(p_run uuid) returns integer
  language sql stable
as $$
  select coalesce(max(op_index) + 1, 0) from workflow_ops where workflow_run_id = p_run
$$;

-- Replay verifications (the seed's m11_audit.replay_runs).
create table replay_runs (
  replay_id uuid primary key default uuid7(),
  tenant_id uuid not null references tenants (id),
  workflow_run_id uuid not null references workflow_runs (id),
  mode text not null check (mode in ('verify', 'against_version')),
  -- The definition version the ops were checked against.
  version integer not null check (version >= 1),
  status text not null default 'running' check (status in ('running', 'verified', 'mismatch', 'error')),
  ops_total integer,
  ops_verified integer,
  ops_failed integer,
  ops_skipped integer,
  first_mismatch_op_index integer,
  -- RFC 6902 JSON Patch, expected -> actual, of the first mismatch.
  mismatch_diff jsonb,
  -- CRITICAL when the first mismatch is a side-effecting op's, else WARNING.
  severity text check (severity in ('CRITICAL', 'WARNING')),
  mismatches jsonb,
  error_message text,
  requested_by text not null,
  started_at timestamptz not null default now(),
  completed_at timestamptz
);
create index replay_runs_tenant_run_idx on replay_runs (tenant_id, workflow_run_id, started_at desc);

-- The seed's workflow_summary, exact because it is computed from the log.
create view workflow_summary as
  select tenant_id, workflow_run_id,
    CAST(count(*) AS integer) as total_ops,
    CAST(count(*) filter (where status = 'succeeded') AS integer) as completed_ops,
    CAST(count(*) filter (where status = 'failed') AS integer) as failed_ops,
    min(created_at) as first_op_at,
    max(completed_at) as last_op_at,
    CAST(coalesce(sum(duration_ms), 0) AS integer) as total_duration_ms
  from workflow_ops group by tenant_id, workflow_run_id;

-- The seed's skill_metrics as an hourly rollup per tenant and skill (cost simulation reads it).
create view skill_metrics as
  select tenant_id, date_trunc('hour', completed_at) as hour, op_type as skill_name,
    CAST(count(*) AS integer) as calls,
    CAST(count(*) filter (where status = 'failed') AS integer) as failures,
    percentile_cont(0.5) within group (order by duration_ms) as duration_p50_ms,
    percentile_cont(0.95) within group (order by duration_ms) as duration_p95_ms,
    percentile_cont(0.99) within group (order by duration_ms) as duration_p99_ms,
    sum(credits) as credits
  from workflow_ops group by tenant_id, date_trunc('hour', completed_at), op_type;

-- migrate:down
drop view skill_metrics;
drop view workflow_summary;
drop table replay_runs;
drop function workflow_next_op_index(uuid);
drop table workflow_ops;
drop function workflow_ops_refuse_change();
drop table workflow_runs;
drop table workflow_definitions;
