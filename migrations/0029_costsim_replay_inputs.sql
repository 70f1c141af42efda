-- The input of each recorded shadow comparison, so that the canary can run the deployed V1 and V2
-- on recent real plans again (issue 19: "runs V2 on the reference datasets and on recent
-- provenance"): the plan, the feasibility options the simulate was given and those V1 and V2 were
-- run with (the tenant's available credits then), and the history V2 read, as gzipped JSON. A
-- comparison's row keeps only hashes of these; this keeps the input itself.
--
-- Beside costsim_provenance, not in it: the divergence report scans that table's rows, and a
-- plan with its history (hundreds of bytes to kilobytes) would widen every row it reads. One row
-- per comparison row (a later simulation of the same input replaces it, as it replaces the
-- comparison), written in the statement that writes the comparison. The CostsimSafety cron
-- deletes those older than COSTSIM_CANARY_WINDOW_HOURS, the window the canary reads.
-- migrate:up

create table costsim_provenance_inputs (
  provenance_id uuid primary key references costsim_provenance (id) on delete cascade,
  tenant_id uuid not null references tenants (id),
  input_gz bytea not null,
  -- The simulation time of the comparison it is the input of (costsim_provenance.updated_at).
  recorded_at timestamptz not null
);
-- The canary reads the newest, the trim the oldest.
create index costsim_provenance_inputs_recorded_idx on costsim_provenance_inputs (recorded_at);

-- migrate:down

drop table costsim_provenance_inputs;
