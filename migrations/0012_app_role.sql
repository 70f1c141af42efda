-- Two database roles (docs/decisions/0011-db-roles.md): the role that runs migrations owns every
-- table, trigger and function; the application connects as another role that may read and write
-- rows and nothing else, and on append-only tables only INSERT and SELECT. Only an owner may
-- drop, disable, rename or replace a trigger or its function, so the application role cannot
-- rewrite history whatever it sends.
--
-- The application role's name is configuration, never history: the migrator sets
-- `aos.app_role` (DATABASE_APP_ROLE, by default the user of DATABASE_URL) in each migration's
-- transaction, and calls aos_grant_app_role again after every `migrate up`, so a later
-- migration's tables, a renamed role or a database migrated before the split end up right.
-- migrate:up
create function aos_grant_app_role(p_role text) returns void
language plpgsql as $$
declare
  t record;
begin
  -- No role named, or one role for both (migrations run as the application's own role):
  -- nothing to grant, and never revoke anything from the owner itself.
  if p_role is null or p_role = '' or p_role = current_user then
    return;
  end if;
  execute format('grant usage on schema public to %I', p_role);
  -- Rows, never the schema: no TRUNCATE, TRIGGER or REFERENCES, and no ownership of anything.
  execute format('grant select, insert, update, delete on all tables in schema public to %I', p_role);
  execute format('revoke truncate, references, trigger on all tables in schema public from %I', p_role);
  execute format('grant usage, select on all sequences in schema public to %I', p_role);
  -- The migrator's own bookkeeping: readable (aos load-test checks nothing is pending), no more.
  if to_regclass('public.schema_migrations') is not null then
    execute format('revoke insert, update, delete on schema_migrations from %I', p_role);
  end if;
  -- Append-only tables: those with a BEFORE TRUNCATE trigger that refuses the change, as
  -- status_history (0003) and credit_ledger (0005) have. INSERT and SELECT only.
  for t in
    select distinct tg.tgrelid::regclass as rel
    from pg_trigger tg
    join pg_class c on c.oid = tg.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and not tg.tgisinternal
      and (tg.tgtype & 32) <> 0 -- TRIGGER_TYPE_TRUNCATE
      and (tg.tgtype & 2) <> 0  -- TRIGGER_TYPE_BEFORE
  loop
    execute format('revoke update, delete on %s from %I', t.rel, p_role);
  end loop;
  -- Tables and sequences this role creates later get the row privileges at once (a later
  -- append-only table loses UPDATE and DELETE again when the migrator calls this after `up`).
  execute format('alter default privileges in schema public grant select, insert, update, delete on tables to %I', p_role);
  execute format('alter default privileges in schema public grant usage, select on sequences to %I', p_role);
end
$$;
revoke all on function aos_grant_app_role(text) from public;

select aos_grant_app_role(current_setting('aos.app_role', true));

-- migrate:down
do $$
declare
  r text := nullif(current_setting('aos.app_role', true), '');
begin
  if r is not null and r <> current_user then
    execute format('alter default privileges in schema public revoke all on tables from %I', r);
    execute format('alter default privileges in schema public revoke all on sequences from %I', r);
    execute format('revoke all on all tables in schema public from %I', r);
    execute format('revoke all on all sequences in schema public from %I', r);
  end if;
end
$$;
drop function aos_grant_app_role(text);
