-- Cost simulation (issue 18): what runs next to the estimates.
--
-- 1. A workflow run reserves CostSim V1's estimate of its steps and keeps that estimate beside
--    what it actually cost. `estimate` is V1's figures at the run's start for the steps it runs (a
--    fork's from its fork point): credits (what was reserved), duration, chance of failure,
--    expected retries, the estimator's version and the hash of the plan it estimated. Runs started
--    before this migration have none (null).
-- 2. The shadow path's requests: a V1 simulate with COSTSIM_V2_SANDBOX on writes one row (the plan
--    and options V1 saw) beside its reply instead of sending an SQS message on the request path;
--    the CostsimShadowRelay cron sends their messages through the platform outbox (`enqueued_at`),
--    and the CostsimShadow worker deletes a row once its comparison is recorded.
-- migrate:up

alter table workflow_runs add column estimate jsonb;

create table costsim_shadow_requests (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  -- Costsim's ShadowMessage: plan, options, plan_ref, skills, at.
  request jsonb not null,
  created_at timestamptz not null default now(),
  -- When SQS last accepted a message for the row (the outbox's column); null: never.
  enqueued_at timestamptz
);

create index costsim_shadow_requests_created_idx on costsim_shadow_requests (created_at);

-- migrate:down

drop table costsim_shadow_requests;
alter table workflow_runs drop column estimate;
