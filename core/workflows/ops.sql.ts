/**
 * The SQL of the operations audit log (workflow_ops, append-only: INSERT and SELECT only). Rows
 * come back in the API's wire shape. replay_runs: replays.sql.ts.
 */
import { isoUtc } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { OpStates } from "./states.ts";

const O = sqlLiterals(OpStates);

export const opColumns = /* @__PURE__ */ statement(
  () => `o.op_id, o.op_index, o.step_id, o.op_type, o.skill_version, o.args, o.args_hash, o.result, o.result_hash,
  o.status, o.error_code, o.error_message, o.duration_ms, o.transient, o.idempotency_key, CAST(o.credits AS float8) as credits,
  CAST(o.units AS float8) as units, o.prev_hash, o.hash, ${isoUtc("o.created_at")} as created_at, ${isoUtc("o.completed_at")} as completed_at`,
);

/** The columns of an op's row, in the order of `opValues`. */
export const opInsertColumns = `tenant_id, workflow_run_id, op_index, step_id, op_type, skill_version, args, args_hash,
      result, result_hash, status, error_code, error_message, duration_ms, transient, idempotency_key, credits, prev_hash,
      hash, created_at, completed_at, units`;

/**
 * One op's values: $1 tenant, $2 run, $3 op_index, $4 step_id, $5 op_type, $6 skill_version,
 * $7 args, $8 args_hash, $9 result, $10 result_hash, $11 status, $12 error_code, $13
 * error_message, $14 duration_ms, $15 transient, $16 idempotency_key, $17 credits, $18 prev_hash,
 * $19 hash, $20 created_at, $21 completed_at, $22 units (audit.ts `opRow` builds them). Shared
 * by insertOp and the step's fold (step.sql.ts).
 */
export const opValues = `CAST($1 AS uuid), CAST($2 AS uuid), CAST($3 AS integer), CAST($4 AS text), CAST($5 AS text),
      CAST($6 AS text), CAST($7 AS jsonb), CAST($8 AS text), CAST($9 AS jsonb), CAST($10 AS text), CAST($11 AS text),
      CAST($12 AS text), CAST($13 AS text), CAST($14 AS integer), CAST($15 AS boolean), CAST($16 AS text),
      CAST($17 AS numeric), CAST($18 AS text), CAST($19 AS text), CAST($20 AS timestamptz), CAST($21 AS timestamptz),
      CAST($22 AS numeric)`;

/** One op ($1 to $22: opValues). (run, op_index) is unique: a second writer of one op fails. */
export const insertOp = /* @__PURE__ */ statement(
  () => `insert into workflow_ops as o (${opInsertColumns})
    values (${opValues})
    returning ${opColumns}`,
);

/** $1 run, $2 tenant: the run's ops in order. */
export const opsOf = /* @__PURE__ */ statement(
  () => `select ${opColumns} from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid) order by o.op_index`,
);

const chainColumns = `o.op_index, o.step_id, o.op_type, o.skill_version, o.args, o.args_hash, o.result, o.result_hash,
  o.status, o.error_code, o.transient, o.idempotency_key, CAST(o.credits AS float8) as credits, o.prev_hash, o.hash`;

/**
 * $1 run, $2 tenant: the run's ops in order, only the columns the chain and the replay verifier
 * read (the hashed fields, args, result): no id, message, duration or times to format.
 */
export const chainOpsOf = /* @__PURE__ */ statement(
  () => `select ${chainColumns}
    from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid) order by o.op_index`,
);

/**
 * chainOpsOf, $3 max ops: none unless the run recorded at most that many (next_op_index), decided
 * once per statement. An inline replay reads the ops at the same time as the run, and a run too
 * big for that costs no read of its ops.
 */
export const chainOpsOfUpTo = /* @__PURE__ */ statement(
  () => `select ${chainColumns}
    from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid)
      and exists (select 1 from workflow_runs r
        where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid) and r.next_op_index <= CAST($3 AS integer))
    order by o.op_index`,
);

/** $1 run, $2 tenant, $3 step ids: the results of those steps' succeeded ops (what a step's `$ref`s name). */
export const resultsOf = /* @__PURE__ */ statement(
  () => `select o.step_id, o.result from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid) and o.status = ${O.succeeded}
      and o.step_id = any(CAST($3 AS text[]))`,
);

/** $1 run, $2 tenant: workflow_summary's row (none before the first op). */
export const summaryOf = /* @__PURE__ */ statement(
  () => `select s.total_ops, s.completed_ops, s.failed_ops, ${isoUtc("s.first_op_at")} as first_op_at,
      ${isoUtc("s.last_op_at")} as last_op_at, s.total_duration_ms
    from workflow_summary s where s.workflow_run_id = CAST($1 AS uuid) and s.tenant_id = CAST($2 AS uuid)`,
);
