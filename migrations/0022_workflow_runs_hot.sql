-- Workflows (issue 16): every op of a running run updates its row (next_op_index, head_hash,
-- credits_charged, updated_at, enqueued_at). With `updated_at` in an index that update could
-- never be HOT: each op wrote a new entry in every index of workflow_runs. The sweeper's and
-- the stuck-runs gauge's question (which runs are running) is answered by an index of running
-- runs' ids instead, whose columns a step never changes, and pages keep room for HOT updates.
-- migrate:up

drop index workflow_runs_running_idx;
create index workflow_runs_running_idx on workflow_runs (id) where status = 'running';
alter table workflow_runs set (fillfactor = 80);

-- migrate:down

alter table workflow_runs reset (fillfactor);
drop index workflow_runs_running_idx;
create index workflow_runs_running_idx on workflow_runs (updated_at) where status = 'running';
