-- Placeholder on the agents branch only: number taken by another helper's branch. DROP THIS FILE AT MERGE
-- (the migrator refuses a gap in numbering, so 0017 cannot be tested without it).
-- migrate:up
select 1;

-- migrate:down
select 1;
