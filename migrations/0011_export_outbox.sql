-- Exports join the one outbox (core/platform/outbox.ts, decision 0009): `enqueued_at` is when SQS
-- last accepted the export's message, as job_items.enqueued_at is an item's. Until now the
-- sweeper read `updated_at` for it, which every change of the row also moves.
-- migrate:up
alter table status_history_exports add column enqueued_at timestamptz;

-- Open exports were last sent (or re-driven) no later than their last change.
update status_history_exports set enqueued_at = updated_at where status in ('pending', 'running');

-- migrate:down
alter table status_history_exports drop column enqueued_at;
