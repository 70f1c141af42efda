-- Circuit breakers: one table for every kind of breaker (core/platform/breaker), not only skills'.
-- migrate:up

-- What the breaker guards: `skill` (a skill's external target, the only kind so far), later the
-- failure catalog's persistence and the cost simulator's drift breaker. A target is unique within
-- its kind and tenant; the skills' rows keep their identity under `skill`.
alter table circuit_breaker_state
  add column kind text not null default 'skill' check (kind ~ '^[a-z][a-z0-9_]{0,62}$');
alter table circuit_breaker_state drop constraint circuit_breaker_state_tenant_id_target_key;
alter table circuit_breaker_state
  add constraint circuit_breaker_state_kind_tenant_id_target_key unique nulls not distinct (kind, tenant_id, target);

-- Bumped by every write of the row: the Redis copy of a breaker's state (its fast path) is only
-- replaced by a newer version, so a slow reader never puts back a state another caller changed.
alter table circuit_breaker_state add column version bigint not null default 0 check (version >= 0);

-- A breaker that opens on N failures within a window (not N consecutive ones) keeps the times of
-- its last N failures inside the window, oldest first; null for a consecutive-failures breaker.
alter table circuit_breaker_state
  add column recent_failures timestamptz[] check (cardinality(recent_failures) <= 1000);

-- migrate:down
-- Breakers of other kinds have no place in the older table: they are dropped with the kind.
delete from circuit_breaker_state where kind <> 'skill';
alter table circuit_breaker_state drop column recent_failures;
alter table circuit_breaker_state drop column version;
alter table circuit_breaker_state drop constraint circuit_breaker_state_kind_tenant_id_target_key;
alter table circuit_breaker_state drop column kind;
alter table circuit_breaker_state
  add constraint circuit_breaker_state_tenant_id_target_key unique nulls not distinct (tenant_id, target);
