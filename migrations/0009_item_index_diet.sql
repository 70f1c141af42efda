-- Jobs: two indexes of job_items that every item's claim and completion paid for, dropped.
-- migrate:up

-- (job_id, status) got a new entry at each of an item's changes of state (two per item). Its
-- one reader, the count of a job's items by state, visits every item of the job either way (the
-- heap is read for rows not yet all-visible: all of a running job's), and the unique
-- (job_id, idx) index serves it.
drop index job_items_job_status_idx;

-- (tenant_id, finished_at) of done items got an entry at each completion, for simulation's
-- duration history alone; that now walks the tenant's newest jobs of the task (their index) and
-- each job's items by (job_id, idx), stopping at 1000 durations.
drop index job_items_done_idx;

-- migrate:down
create index job_items_done_idx on job_items (tenant_id, finished_at desc) where status = 'done';
create index job_items_job_status_idx on job_items (job_id, status);
