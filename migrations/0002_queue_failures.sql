-- Queue records that failed permanently: recorded here, then acknowledged, so nothing fails silently.
-- migrate:up
create table queue_failures (
  id bigint generated always as identity primary key,
  queue text not null,
  message_id text not null,
  tenant_id uuid,
  body text not null,
  error_code text not null,
  error_message text not null,
  receive_count integer not null default 1,
  created_at timestamptz not null default now(),
  unique (queue, message_id)
);
create index queue_failures_tenant_created_idx on queue_failures (tenant_id, created_at desc);

-- migrate:down
drop table queue_failures;
