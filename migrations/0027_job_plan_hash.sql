-- Cost simulation (issue 18, actual outcomes of jobs): a job spawned while COSTSIM_V2_SANDBOX is
-- on keeps the hash of its plan as CostSim reads a spawn body (Costsim.hashOf of planOf), so that
-- when it is settled (completed or failed, not cancelled) its credits charged and wall time are
-- written on the tenant's shadow comparisons of the same plan made before it began, as a
-- workflow run's are. Null for jobs spawned with the sandbox off and before this migration.
-- migrate:up

alter table jobs add column plan_hash text;

-- migrate:down

alter table jobs drop column plan_hash;
