/**
 * SQL of the provenance backfill (`aos costsim backfill`, cli/costsim-backfill/): records of
 * earlier comparisons loaded into costsim_provenance as `source = 'backfill'`, one statement per
 * batch, and read back to check their hashes. Every statement names the tenant (`$1`).
 */
import { sqlLiterals } from "../platform/db/index.ts";

const S = sqlLiterals({ backfill: "backfill" });

/**
 * A batch of rows, one array per column (`$2` ... `$24`, the same length). `skills` are JSON
 * arrays (text), as a text[][] must be rectangular; `outputs` JSON (text) or null; `outputs_gz`
 * bytea or null. A row whose input hash the tenant has already (an earlier run, the shadow path)
 * is left alone and not returned: the caller counts it as a duplicate. `updated_at` is the
 * record's own time (when it was simulated), as the shadow path writes it: a newer shadow
 * comparison of the same input replaces a backfilled row, an older one does not.
 */
export const insertBatch = `
insert into costsim_provenance (
  tenant_id, input_hash, source, plan_ref, skills, v1_version, v2_version, v1_hash, v2_hash,
  v1_credits, v2_credits, v1_duration_ms, v2_duration_ms, v1_p_failure, v2_p_failure,
  cost_delta, drift_score, verdict, outputs, outputs_gz,
  actual_credits, actual_duration_ms, actual_run_id, actual_at, created_at, updated_at)
select CAST($1 AS uuid), r.input_hash, ${S.backfill}, r.plan_ref,
  array(select jsonb_array_elements_text(CAST(r.skills AS jsonb))),
  r.v1_version, r.v2_version, r.v1_hash, r.v2_hash,
  r.v1_credits, r.v2_credits, r.v1_duration_ms, r.v2_duration_ms, r.v1_p_failure, r.v2_p_failure,
  r.cost_delta, r.drift_score, r.verdict, CAST(r.outputs AS jsonb), r.outputs_gz,
  r.actual_credits, r.actual_duration_ms, r.actual_run_id, r.actual_at, r.created_at, r.created_at
from unnest(
  CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS text[]), CAST($6 AS text[]),
  CAST($7 AS text[]), CAST($8 AS text[]),
  CAST($9 AS numeric[]), CAST($10 AS numeric[]), CAST($11 AS float8[]), CAST($12 AS float8[]),
  CAST($13 AS float8[]), CAST($14 AS float8[]), CAST($15 AS numeric[]), CAST($16 AS float8[]),
  CAST($17 AS text[]), CAST($18 AS text[]), CAST($19 AS bytea[]),
  CAST($20 AS numeric[]), CAST($21 AS float8[]), CAST($22 AS uuid[]), CAST($23 AS timestamptz[]),
  CAST($24 AS timestamptz[])
) as r(input_hash, plan_ref, skills, v1_version, v2_version, v1_hash, v2_hash,
  v1_credits, v2_credits, v1_duration_ms, v2_duration_ms,
  v1_p_failure, v2_p_failure, cost_delta, drift_score,
  verdict, outputs, outputs_gz,
  actual_credits, actual_duration_ms, actual_run_id, actual_at,
  created_at)
on conflict (tenant_id, input_hash) do nothing
returning input_hash as "inputHash"`;

/** Which of these input hashes (`$2`) the tenant has already (a dry run's duplicates). */
export const storedHashes = `
select input_hash as "inputHash" from costsim_provenance
where tenant_id = $1 and input_hash = any(CAST($2 AS text[]))`;

const storedColumns = `id, input_hash as "inputHash", source, v1_hash as "v1Hash", v2_hash as "v2Hash",
  CAST(v1_credits AS float8) as "v1Credits", CAST(v2_credits AS float8) as "v2Credits",
  outputs, outputs_gz as "outputsGz"`;

/** The tenant's stored rows of these input hashes (`$2`), for --verify after a load. */
export const rowsByHash = `
select ${storedColumns} from costsim_provenance
where tenant_id = $1 and input_hash = any(CAST($2 AS text[]))
order by id`;

/** The tenant's stored rows after id `$2` (keyset), `$3` at a time, for --verify of everything stored. */
export const rowsAfter = `
select ${storedColumns} from costsim_provenance
where tenant_id = $1 and id > CAST($2 AS uuid)
order by id
limit $3`;
