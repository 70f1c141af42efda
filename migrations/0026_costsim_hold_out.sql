-- Cost simulation (issue 18, accuracy on hold-out runs): an actual outcome is written only on a
-- comparison whose V2 read its history before the run began, so V1's and V2's error against
-- actuals is measured on runs V2 never calibrated on. `compared_at`: when the shadow consumer
-- compared and recorded the row (after V2 read the tenant's history; null for backfilled rows
-- and rows recorded before this migration, which no run's outcome reaches). `actual_started_at`:
-- when the run whose outcome the row carries began. A later simulation that replaces the row's
-- comparison clears its actual outcome (the new V2 may have seen that run).
-- migrate:up

alter table costsim_provenance
  add column compared_at timestamptz,
  add column actual_started_at timestamptz;

-- migrate:down

alter table costsim_provenance
  drop column compared_at,
  drop column actual_started_at;
