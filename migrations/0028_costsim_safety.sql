-- Cost simulation's safety net (issue 19; seeds 004 PIN-026 M6.2 and 001 PIN-028). The platform's,
-- not a tenant's: one drift breaker disables V2 for every tenant, so these tables carry no
-- tenant_id and hold no tenant's data (figures aggregated over every tenant's comparisons).
--
-- - The drift breaker is the platform breaker of kind 'costsim' (circuit_breaker_state, target
--   'v2'); `costsim_cb_state` is the seed's name for it, a view.
-- - `costsim_cb_incidents`: each trip (why, its figures, when, until when) and how it ended.
-- - `costsim_alert_queue`: one row per alert sent to Alertmanager (an incident's), holding the
--   alert's current state (firing or resolved, its endsAt lease) and a version bumped at each
--   change; a row is delivered when `sent_version` reaches `version` at every ALERTMANAGER_URL.
--   `enqueued_at` is the outbox's column (core/platform/outbox): the AlertDelivery queue's message.
-- - `costsim_canary_reports`: each canary run; at most one 'running' at a time (the unique
--   partial index is the leader election: it works through Neon's pooler, where session advisory
--   locks do not), a run whose lease ran out is 'abandoned' by the next one.
-- migrate:up

create view costsim_cb_state as
  select id, state, state <> 'CLOSED' as disabled, failure_count as consecutive_failures,
    opened_at as disabled_at, cooldown_until as disabled_until, last_error, last_failure_at,
    version, updated_at
  from circuit_breaker_state
  where kind = 'costsim' and target = 'v2' and tenant_id is null;

-- One drift evaluation per COSTSIM_CB_EVAL_INTERVAL_S bucket at most (the unique bucket: whichever
-- worker inserts it evaluates), with its outcome and figures, so an operator sees the values the
-- breaker judged, not only its verdict. The evaluation reads the comparisons of every tenant by
-- `compared_at`, hence the index.
create table costsim_cb_evaluations (
  id uuid primary key default gen_random_uuid(),
  bucket bigint not null unique,
  started_at timestamptz not null,
  outcome text check (outcome in ('pass', 'fail', 'insufficient_data')),
  figures jsonb not null default '{}',
  consecutive_failures integer,
  tripped boolean not null default false
);
create index costsim_cb_evaluations_started_idx on costsim_cb_evaluations (started_at desc);
create index costsim_provenance_compared_idx on costsim_provenance (compared_at)
  include (drift_score, verdict) where compared_at is not null;

create table costsim_cb_incidents (
  id uuid primary key default gen_random_uuid(),
  trigger text not null check (trigger in ('drift', 'schema_errors', 'canary')),
  reason text not null,
  figures jsonb not null default '{}',
  opened_at timestamptz not null,
  disabled_until timestamptz not null,
  resolved_at timestamptz,
  resolution text check (resolution in ('auto_recovery', 'reset')),
  resolved_by text,
  resolution_reason text,
  created_at timestamptz not null default now(),
  check ((resolved_at is null) = (resolution is null))
);
create index costsim_cb_incidents_opened_idx on costsim_cb_incidents (opened_at desc, id desc);
create index costsim_cb_incidents_open_idx on costsim_cb_incidents (opened_at) where resolved_at is null;

create table costsim_alert_queue (
  id uuid primary key default gen_random_uuid(),
  incident_id uuid not null unique references costsim_cb_incidents(id),
  labels jsonb not null,
  annotations jsonb not null,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  state text not null check (state in ('firing', 'resolved')),
  version integer not null default 1,
  sent_version integer not null default 0,
  delivered_to text[] not null default '{}',
  attempts integer not null default 0,
  next_attempt_at timestamptz not null,
  claim_id uuid,
  claimed_until timestamptz,
  last_error text,
  changed_at timestamptz not null,
  last_sent_at timestamptz,
  enqueued_at timestamptz,
  created_at timestamptz not null default now(),
  check (sent_version <= version)
);
create index costsim_alert_queue_due_idx on costsim_alert_queue (next_attempt_at) where sent_version < version;
create index costsim_alert_queue_firing_idx on costsim_alert_queue (ends_at) where state = 'firing';

create table costsim_canary_reports (
  id uuid primary key default gen_random_uuid(),
  status text not null check (status in ('running', 'passed', 'failed', 'insufficient_data', 'abandoned')),
  trigger text not null check (trigger in ('schedule', 'api')),
  requested_by text not null,
  started_at timestamptz not null,
  lease_until timestamptz not null,
  finished_at timestamptz,
  report jsonb,
  failures text[] not null default '{}',
  created_at timestamptz not null default now()
);
create unique index costsim_canary_reports_one_running on costsim_canary_reports ((true)) where status = 'running';
create index costsim_canary_reports_started_idx on costsim_canary_reports (started_at desc, id desc);

-- migrate:down

drop table costsim_canary_reports;
drop table costsim_alert_queue;
drop table costsim_cb_incidents;
drop index costsim_provenance_compared_idx;
drop table costsim_cb_evaluations;
drop view costsim_cb_state;
