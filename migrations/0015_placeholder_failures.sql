-- PLACEHOLDER on the `workflows` branch only: 0015 belongs to the failure catalog (issue 15),
-- built on another branch. The migrator refuses a gap in the numbering, so this empty file lets
-- 0016 apply here; the merge takes the failure catalog's 0015 instead of this file.
-- migrate:up
select 1;

-- migrate:down
select 1;
