-- Credits that mean something (issue 14 §4, §5): each job item's own price, holds for direct
-- skill executions, and idempotency keys on creating POSTs in the one idempotency table.
-- migrate:up

-- An item's price, fixed at spawn: the skill's cost model for the item's args (base per call
-- plus per unit, e.g. 0.1 per voyage_embed input), or the job's credits_per_item when that is
-- higher; an external item's is the job's credits_per_item. Its charge or release is this amount,
-- a cancel refunds the cancelled items' sum, and the job's reserve is the sum of all of them.
alter table job_items add column credits numeric(18, 4);
update job_items i set credits = j.credits_per_item from jobs j where j.id = i.job_id;
alter table job_items alter column credits set not null;
alter table job_items add constraint job_items_credits_check check (credits >= 0);

-- Credits held for a direct skill execution while it runs (POST /api/v1/skills/{name}/execute):
-- `reserve` ledger row and `reserved += amount` when it starts; when it ends, the hold row goes
-- and a `charge` (it succeeded) or `release` (it failed) row is written and applied to the
-- balance row at once, in one statement. A hold whose caller died is released once it expires
-- (the SkillIdempotencySweep cron). Ledger keys: `reserve:hold:<id>`, `charge:hold:<id>`,
-- `release:hold:<id>`.
create table credit_holds (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  amount numeric(18, 4) not null check (amount > 0),
  -- What the credits are held for, e.g. `skill kv_store` (copied to the ledger rows).
  reason text not null check (length(reason) between 1 and 500),
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index credit_holds_expires_idx on credit_holds (expires_at);

-- skill_executions is the one idempotency table (core/platform/idempotency.ts): a skill's keys
-- under its name, a creating POST's under `route:<name>` (`route:jobs.create`,
-- `route:credits.grant`), each per tenant and kept SKILL_IDEMPOTENCY_TTL_H.
alter table skill_executions drop constraint skill_executions_skill_check;
alter table skill_executions add constraint skill_executions_skill_check
  check (skill ~ '^(route:)?[a-z][a-z0-9_.]{0,62}$');

-- migrate:down
delete from skill_executions where skill like 'route:%';
alter table skill_executions drop constraint skill_executions_skill_check;
alter table skill_executions add constraint skill_executions_skill_check check (skill ~ '^[a-z][a-z0-9_]{0,62}$');
drop table credit_holds;
alter table job_items drop constraint job_items_credits_check;
alter table job_items drop column credits;
