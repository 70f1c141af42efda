-- Workflows (issue 16, items 4 and 5): replays of big runs go through the WorkflowReplays queue
-- (an outbox over replay_runs), and skill_metrics gains the units each skill's cost model counts.
-- migrate:up

-- A replay too big to verify inline is written `pending` and verified by the WorkflowReplays
-- worker, which marks it `running` (lease_until: until when its worker holds it; a running replay whose
-- worker died is taken again once its lease ran out) and writes the verdict.
alter table replay_runs drop constraint replay_runs_status_check;
alter table replay_runs add constraint replay_runs_status_check
  check (status in ('pending', 'running', 'verified', 'mismatch', 'error'));
-- The outbox (core/platform/outbox): when SQS last accepted the replay's message.
alter table replay_runs add column enqueued_at timestamptz;
alter table replay_runs add column lease_until timestamptz;
-- The outbox sweeper's question: which replays still want their message.
create index replay_runs_waiting_idx on replay_runs (started_at) where status in ('pending', 'running');

-- The units the op's skill counts under its cost model (voyage_embed: its inputs; a skill priced
-- per call: 1); null where the args never validated, and on ops recorded before this column.
-- Derived from the args, so outside the op's hash (the chain of older ops stays whole).
alter table workflow_ops add column units numeric(18, 4) check (units >= 0);

drop view skill_metrics;
-- The seed's skill_metrics as an hourly rollup per tenant and skill (cost simulation reads it):
-- units_total and units_per_call over the ops that recorded units.
create view skill_metrics as
  select tenant_id, date_trunc('hour', completed_at) as hour, op_type as skill_name,
    CAST(count(*) AS integer) as calls,
    CAST(count(*) filter (where status = 'failed') AS integer) as failures,
    percentile_cont(0.5) within group (order by duration_ms) as duration_p50_ms,
    percentile_cont(0.95) within group (order by duration_ms) as duration_p95_ms,
    percentile_cont(0.99) within group (order by duration_ms) as duration_p99_ms,
    sum(credits) as credits,
    sum(units) as units_total,
    round(avg(units), 4) as units_per_call
  from workflow_ops group by tenant_id, date_trunc('hour', completed_at), op_type;

-- migrate:down
drop view skill_metrics;
create view skill_metrics as
  select tenant_id, date_trunc('hour', completed_at) as hour, op_type as skill_name,
    CAST(count(*) AS integer) as calls,
    CAST(count(*) filter (where status = 'failed') AS integer) as failures,
    percentile_cont(0.5) within group (order by duration_ms) as duration_p50_ms,
    percentile_cont(0.95) within group (order by duration_ms) as duration_p95_ms,
    percentile_cont(0.99) within group (order by duration_ms) as duration_p99_ms,
    sum(credits) as credits
  from workflow_ops group by tenant_id, date_trunc('hour', completed_at), op_type;
alter table workflow_ops drop column units;
drop index replay_runs_waiting_idx;
alter table replay_runs drop column lease_until;
alter table replay_runs drop column enqueued_at;
delete from replay_runs where status = 'pending';
alter table replay_runs drop constraint replay_runs_status_check;
alter table replay_runs add constraint replay_runs_status_check
  check (status in ('running', 'verified', 'mismatch', 'error'));
