/**
 * The SQL of a step's common case (step-finish.ts): an op that succeeded, of a running run whose
 * reserve covers its cost and that has ops after it, recorded in ONE autocommit statement instead
 * of a transaction of six (begin, lock, op, ledger, balance, move, commit) and a stamp after the
 * send. Anything else (another delivery won, the run was cancelled or ended, a top-up, the last
 * op, a failure) goes the transactional way (step-finish.ts `finishInTx`).
 */
import { chargeAppliedFrom } from "../credits/index.ts";
import { prepared } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { succeedFrom } from "../platform/idempotency/index.ts";
import { opInsertColumns, opValues } from "./ops.sql.ts";
import { RunStates } from "./states.ts";

const R = sqlLiterals(RunStates);

/**
 * The op recorded, charged and its run moved on and stamped for its next message, in one
 * statement. $1 to $22: the op's row (ops.sql.ts opValues: $1 tenant, $2 run, $3 op index, $16
 * its idempotency key `wf:<run>:<op>`, $17 its cost, $18 the head read before the call, $19 its
 * hash, $21 now); $23 actor, $24 the charge's reason, $25 the outbox stamp; $26 to $29 the op's
 * idempotency record's success (id, attempts, result, ms: Idempotency.successValues; null when the
 * call was a replay).
 *
 * `e` stores that success whatever the guard says (a data-modifying CTE runs to completion): the
 * call ran, so its key must replay from now on, whether or not the op is recorded here. It was a
 * statement of its own after the call (Skills.execute), one commit more per op.
 *
 * `r` locks the run and guards it: still running, still waiting for this op (a repeated delivery
 * finds it moved on), its head still the one the op's hash chains to, an op after this one, and
 * the reserve covering the cost. No row (the guard failed): nothing is written, the caller goes
 * the transactional way. With a row: the op appended, its `charge:wf:<run>:<op>` ledger row
 * (Credits.chargeAppliedFrom: the columns Credits.chargeNow writes, idempotent by its key)
 * applied to the balance row, the run moved on and its `enqueued_at` stamped $25 (the platform's
 * sendStamped protocol: `outbox_prev` is the stamp it had, put back if SQS refuses the send).
 * `charged` and `applied` count the ledger rows written and the balance rows they moved.
 * Prepared: one parse and plan per connection.
 */
export const finishOp = /* @__PURE__ */ statement(() =>
  prepared(
    "workflows_finish_op",
    `with r as materialized (
      select t.id, t.tenant_id, t.enqueued_at
      from workflow_runs t
      where t.id = CAST($2 AS uuid) and t.tenant_id = CAST($1 AS uuid) and t.status = ${R.running}
        and t.next_op_index = CAST($3 AS integer) and CAST($3 AS integer) + 1 < t.steps_total
        and t.head_hash is not distinct from CAST($18 AS text)
        and t.credits_reserved - t.credits_charged >= CAST($17 AS numeric)
      for update of t
    ), o as (
      insert into workflow_ops (${opInsertColumns})
      select ${opValues} from r
      returning 1
    ), ${chargeAppliedFrom(
      `(select r.tenant_id, CAST(null AS uuid) as job_id, CAST(null AS uuid) as item_id, CAST($16 AS text) as ref,
          CAST($17 AS numeric) as amount, CAST($23 AS text) as actor, CAST($24 AS text) as reason
        from r where CAST($17 AS numeric) > 0)`,
      "c",
    )}, e as (
      ${succeedFrom({ id: "$26", tenant: "$1", attempts: "$27", result: "$28", at: "$21", ms: "$29" })}
      returning 1
    ), m as (
      update workflow_runs w set next_op_index = CAST($3 AS integer) + 1, attempt = 0,
        credits_charged = w.credits_charged + CAST($17 AS numeric), head_hash = CAST($19 AS text),
        updated_at = CAST($21 AS timestamptz), enqueued_at = CAST($25 AS timestamptz)
      from r where w.id = r.id
      returning w.id, w.tenant_id, w.next_op_index, w.id as outbox_id, r.enqueued_at as outbox_prev
    )
    select m.*, (select count(*) from o) as ops, (select count(*) from c) as charged,
      (select count(*) from c_applied) as applied
    from m`,
  ),
);
