-- Cost simulation (issue 18, item 8): a workflow run reserves CostSim V1's estimate of its steps
-- and keeps that estimate beside what it actually cost. `estimate` is V1's figures at the run's
-- start for the steps it runs (a fork's from its fork point): credits (what was reserved),
-- duration, chance of failure, expected retries, the estimator's version and the hash of the
-- plan it estimated. Runs started before this migration have none (null).
-- migrate:up

alter table workflow_runs add column estimate jsonb;

-- migrate:down

alter table workflow_runs drop column estimate;
