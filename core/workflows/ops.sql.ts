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

/**
 * What the replay verifier reads of each op (audit.ts `OpAsRead`): no chain fields (the database
 * checks those), and no status: the table's CHECKs make it `succeeded` exactly when result_hash
 * is set, else `failed`.
 */
const verifyColumns = `o.op_index, o.step_id, o.op_type, o.skill_version, o.args, o.args_hash, o.result, o.result_hash,
  o.transient`;

/**
 * $1 run, $2 tenant: the run's ops as the verifier reads them, in NO order (the caller sorts
 * them by op_index: audit.ts). With an ORDER BY the planner, estimating a run's ops from the
 * average run, read a big run by bitmap scan and sorted it, on disk past work_mem (a 10,000-op
 * run: 46 ms where the index scan takes 6).
 */
export const opsToVerify = /* @__PURE__ */ statement(
  () => `select ${verifyColumns}
    from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid)`,
);

/**
 * opsToVerify, $3 max ops: none unless the run recorded at most that many (next_op_index), decided
 * once per statement. An inline replay reads the ops at the same time as the run, and a run too
 * big for that costs no read of its ops.
 */
export const opsToVerifyUpTo = /* @__PURE__ */ statement(
  () => `select ${verifyColumns}
    from workflow_ops o
    where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid)
      and exists (select 1 from workflow_runs r
        where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid) and r.next_op_index <= CAST($3 AS integer))`,
);

/** A text column as JSON.stringify writes it when it holds no control character; null as `null`. */
const jsonText = (column: string) =>
  `coalesce('"' || replace(replace(${column}, '\\', '\\\\'), '"', '\\"') || '"', 'null')`;

/** A column its CHECK holds to lowercase hex, or a uuid's text: nothing in it to escape. */
const hexText = (column: string) => `coalesce('"' || ${column} || '"', 'null')`;

/**
 * The text audit.ts `opHash` hashes, written by Postgres from the row: its hashed fields, keys in
 * canonical order. It equals JSON.stringify's text except where a string holds a control
 * character (JSON.stringify escapes it, this does not): such a text never equals a text JS wrote
 * for any op, so the row reads as unconfirmed and is hashed in JS (chain.ts). A row this text
 * confirms is one whose fields JS would hash to the same value. The table's CHECKs hold the
 * hashes to hex and status to two words; credits is numeric(18,4), whose float8 text (0, or from
 * 1e-4 to below 1e14) is JSON.stringify's (other exponents start outside that range).
 * test/functions/workflows-chain-sql.test.ts holds both texts equal.
 */
const opHashText = `'{"args_hash":' || ${hexText("o.args_hash")}
  || ',"credits":' || CAST(CAST(o.credits AS float8) AS text)
  || ',"error_code":' || ${jsonText("o.error_code")}
  || ',"idempotency_key":' || ${jsonText("o.idempotency_key")}
  || ',"op_index":' || CAST(o.op_index AS text)
  || ',"op_type":' || ${jsonText("o.op_type")}
  || ',"prev_hash":' || ${hexText("o.prev_hash")}
  || ',"result_hash":' || ${hexText("o.result_hash")}
  || ',"run":' || ${hexText("CAST(o.workflow_run_id AS text)")}
  || ',"skill_version":' || ${jsonText("o.skill_version")}
  || ',"status":' || ${hexText("o.status")}
  || ',"step_id":' || ${jsonText("o.step_id")}
  || ',"transient":' || case when o.transient then 'true' else 'false' end || '}'`;

/**
 * $1 run, $2 tenant, $3 max ops (none checked for a run that recorded more, as opsToVerifyUpTo):
 * the hash chain's row checks done by the database, where the rows are and on
 * its CPU (the verifier reads its own columns at the same time on another connection): every op
 * whose content the database did not confirm gives its hash (`own_ok`), whose prev_hash is not
 * the hash of the op before it, or whose op_index is not its position; and the last op (for the
 * head). With every chain column, its position and the previous op's hash, by op_index. The
 * window sorts only the narrow rows (`offset 0` keeps the planner from sorting every column the
 * hash reads: 3.7 MB, on disk); the few returned are read again by (run, op_index).
 */
export const chainRowsToCheck = /* @__PURE__ */ statement(
  () => `select o.op_index, o.step_id, o.op_type, o.skill_version, o.args_hash, o.result_hash, o.status, o.error_code,
      o.transient, o.idempotency_key, CAST(o.credits AS float8) as credits, o.prev_hash, o.hash,
      CAST(f.position AS integer) as position, f.lag_hash, f.own_ok, f.last
    from (
      select w.op_index, w.position, w.lag_hash, w.own_ok, w.last from (
        select x.op_index, x.prev_hash, x.own_ok,
          row_number() over ord - 1 as position, lag(x.hash) over ord as lag_hash, lead(x.op_index) over ord is null as last
        from (
          select o.op_index, o.prev_hash, o.hash, encode(sha256(convert_to(${opHashText}, 'UTF8')), 'hex') = o.hash as own_ok
          from workflow_ops o where o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid)
            and exists (select 1 from workflow_runs r where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid)
              and r.next_op_index <= CAST($3 AS bigint))
          offset 0
        ) x
        window ord as (order by x.op_index)
      ) w
      where w.own_ok is not true or w.prev_hash is distinct from w.lag_hash or w.op_index <> w.position or w.last
    ) f
    join workflow_ops o on o.workflow_run_id = CAST($1 AS uuid) and o.tenant_id = CAST($2 AS uuid) and o.op_index = f.op_index
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
