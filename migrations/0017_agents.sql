-- Agents (issue 17, seed 002 PIN-063): registered instances, their messages with per-recipient
-- sequence numbers, leases and dead letters, and the invoke audit trail.
--
-- A message to an agent takes the next `seq` of its recipient from `agent_inboxes.last_seq`,
-- incremented in the sending transaction: the counter row stays locked until that transaction
-- commits, so messages to one recipient commit in seq order and a receiver resuming `after_seq`
-- never skips one committed later under a lower number. A send whose `message_id` the sender
-- already used stores nothing (a gap in seq is possible, never a duplicate).
-- migrate:up
create table agent_instances (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  name text not null check (length(name) between 1 and 200),
  capabilities text[] not null default '{}',
  job_id uuid references jobs (id),
  -- Who registered it: `key:<id>`.
  created_by text not null,
  last_seen_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
create index agent_instances_tenant_idx on agent_instances (tenant_id, created_at desc, id desc);
create index agent_instances_job_idx on agent_instances (tenant_id, job_id) where job_id is not null;

create table agent_inboxes (
  agent_id uuid primary key references agent_instances (id) on delete cascade,
  tenant_id uuid not null references tenants (id),
  last_seq bigint not null default 0
);

create table agent_messages (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  recipient_id uuid not null references agent_instances (id) on delete cascade,
  seq bigint not null,
  -- The sending instance's id, or `key:<id>` for a key acting as no instance.
  sender text not null,
  -- The sender's idempotency key: sending it twice stores one message.
  message_id text check (length(message_id) between 1 and 200),
  type text not null check (length(type) between 1 and 100),
  payload jsonb not null,
  reply_to uuid,
  -- An invoke's request message names its invoke.
  invoke_id text,
  expires_at timestamptz not null,
  -- Leased to a receiver until then; delivered again after it unless acked.
  leased_until timestamptz,
  deliveries integer not null default 0,
  acked_at timestamptz,
  dead_at timestamptz,
  created_at timestamptz not null default now(),
  unique (recipient_id, seq)
);
create unique index agent_messages_sender_message_id_idx on agent_messages (tenant_id, sender, message_id)
  where message_id is not null;
create index idx_messages_reply_to on agent_messages (reply_to) where reply_to is not null;
-- What a receiver reads: its live messages in seq order.
create index agent_messages_inbox_idx on agent_messages (recipient_id, seq) where acked_at is null and dead_at is null;
create index agent_messages_dead_idx on agent_messages (tenant_id, dead_at desc, id desc) where dead_at is not null;
create index agent_messages_expires_idx on agent_messages (expires_at);
-- What the sweep dead-letters: leased, unacked messages whose lease ended.
create index agent_messages_leased_idx on agent_messages (leased_until)
  where acked_at is null and dead_at is null and leased_until is not null;
create index agent_messages_invoke_idx on agent_messages (tenant_id, invoke_id) where invoke_id is not null;

-- Seed 002's agents.invoke_audit, with the tenant, the deadline and the credits hold added.
create table invoke_audit (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  invoke_id text not null,
  caller_instance_id text not null,
  target_instance_id text not null,
  job_id uuid,
  request_payload jsonb not null,
  response_payload jsonb,
  -- A2A's names where they fit; `timeout`: the deadline passed unanswered; `late`: answered after it.
  status text not null check (status in ('submitted', 'working', 'completed', 'failed', 'canceled', 'timeout', 'late')),
  credits_reserved numeric(12, 2),
  credits_charged numeric(12, 2),
  hold_id uuid,
  timeout_s integer not null check (timeout_s between 1 and 30),
  deadline_at timestamptz not null,
  started_at timestamptz not null default now(),
  received_at timestamptz,
  completed_at timestamptz,
  duration_ms integer,
  error_message text
);
create unique index idx_invoke_audit_invoke_id on invoke_audit (invoke_id);
create index idx_invoke_audit_caller on invoke_audit (tenant_id, caller_instance_id, started_at desc);
create index idx_invoke_audit_job on invoke_audit (tenant_id, job_id, started_at desc) where job_id is not null;

-- migrate:down
drop table invoke_audit;
drop table agent_messages;
drop table agent_inboxes;
drop table agent_instances;
