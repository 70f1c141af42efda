-- Jobs: every status change of a job item is written to status_history (entity `job_item`), in
-- the statement that makes it: claims, completions, failures, retries, postponements, lease
-- expiries and cancels of claimed items alike, whichever statement makes them.
--
-- A statement-level trigger over the statement's transition tables, not a row trigger: one
-- set-based INSERT per UPDATE statement (a batch of 25 completions writes its 25 rows in one
-- INSERT), where a row trigger ran a PL/pgSQL function and an INSERT per row and halved batched
-- throughput in `npm run bench:jobs` (e_aos/e_bare 0.595x -> 0.311x). Postgres allows no column
-- list with transition tables, so the trigger runs for every UPDATE of job_items; statements that
-- change no status (heartbeats, the outbox's `enqueued_at` stamps) insert nothing.
--
-- An item's history starts at its first claim: its creation, and the cancel of an item never
-- claimed, are not rows here, since its job's own rows (created with items_total; cancelled with
-- cancelled_items) stand for them, so a spawn or a cancel of a million items writes one row, not
-- a million.
-- Actor: the transaction-local setting `aos.actor` when the caller set one, else `system:jobs`;
-- the worker that held the item is in metadata (`worker_id`), with the job and the attempt; a
-- change out of a claim that carries an error gives that error's code as the reason.
-- migrate:up
create function job_items_record_history() returns trigger
  language plpgsql
as $$
begin
  insert into status_history
    (tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata, correlation_id)
  select n.tenant_id, 'job_item', CAST(n.id AS text), o.status, n.status,
    coalesce(nullif(current_setting('aos.actor', true), ''), 'system:jobs'),
    case when n.status in ('pending', 'failed') and n.error is not null then n.error ->> 'code' end,
    jsonb_build_object('job_id', n.job_id, 'attempt', n.attempt,
      'worker_id', coalesce(n.claimed_by, o.claimed_by)),
    nullif(current_setting('aos.correlation_id', true), '')
  from job_items_new n
  join job_items_old o on o.id = n.id
  where o.status is distinct from n.status and not (o.status = 'pending' and n.status = 'cancelled');
  return null;
end
$$;

create trigger job_items_history
  after update on job_items
  referencing old table as job_items_old new table as job_items_new
  for each statement
  execute function job_items_record_history();

-- migrate:down
drop trigger job_items_history on job_items;
drop function job_items_record_history();
