-- Jobs: every status change of a job item is written to status_history (entity `job_item`), in
-- the statement that makes it, by a row trigger: claims, completions, failures, retries,
-- postponements, lease expiries and cancels alike, whichever statement makes them. Only changes
-- of `status` fire it (UPDATE OF status, WHEN old <> new): heartbeats and the outbox's
-- `enqueued_at` stamps cost nothing. An item's history starts at its first claim: its creation,
-- and the cancel of an item never claimed, are not rows here, since its job's own rows (created
-- with items_total; cancelled with cancelled_items) stand for them, so a spawn or a cancel of a
-- million items writes one row, not a million.
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
  values (
    new.tenant_id, 'job_item', CAST(new.id AS text), old.status, new.status,
    coalesce(nullif(current_setting('aos.actor', true), ''), 'system:jobs'),
    case when new.status in ('pending', 'failed') and new.error is not null then new.error ->> 'code' end,
    jsonb_build_object('job_id', new.job_id, 'attempt', new.attempt,
      'worker_id', coalesce(new.claimed_by, old.claimed_by)),
    nullif(current_setting('aos.correlation_id', true), '')
  );
  return null;
end
$$;

create trigger job_items_history
  after update of status on job_items
  for each row
  when (old.status is distinct from new.status and not (old.status = 'pending' and new.status = 'cancelled'))
  execute function job_items_record_history();

-- migrate:down
drop trigger job_items_history on job_items;
drop function job_items_record_history();
