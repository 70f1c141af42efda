/**
 * The SQL of invokes and their audit trail (`invoke_audit`, seed 002). Rows in wire shape; state
 * names from states.ts written in as literals (sqlLiterals), instants decided by `clock()`.
 */
import { isoUtc } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { InvokeStates } from "./states.ts";

const S = sqlLiterals(InvokeStates);

/** An audit row in wire shape, alias `a`. */
const columns = `a.invoke_id, a.caller_instance_id, a.target_instance_id, a.job_id, a.status, a.request_payload,
  a.response_payload, a.error_message, CAST(a.credits_reserved AS float8) as credits_reserved,
  CAST(a.credits_charged AS float8) as credits_charged, a.timeout_s, ${isoUtc("a.deadline_at")} as deadline_at,
  ${isoUtc("a.started_at")} as started_at, ${isoUtc("a.received_at")} as received_at,
  ${isoUtc("a.completed_at")} as completed_at, a.duration_ms, ${isoUtc("a.answered_at")} as answered_at`;

/** $1 tenant, $2 invoke id, $3 caller, $4 target, $5 job, $6 request, $7 credits, $8 hold, $9 timeout s, $10 now, $11 deadline. */
export const insertInvoke = /* @__PURE__ */ statement(
  () => `insert into invoke_audit (tenant_id, invoke_id, caller_instance_id, target_instance_id, job_id, request_payload,
      status, credits_reserved, hold_id, timeout_s, started_at, deadline_at)
    values ($1, $2, $3, $4, $5, CAST($6 AS jsonb), ${S.submitted}, CAST($7 AS numeric), $8, $9, $10, $11)`,
);

/** $1 tenant, $2 invoke id. */
export const getInvoke = /* @__PURE__ */ statement(
  () => `select ${columns} from invoke_audit a where a.tenant_id = $1 and a.invoke_id = $2`,
);

/** $1 tenant, $2 invoke id: the row locked, with what answering it needs. */
export const lockInvoke = /* @__PURE__ */ statement(
  () => `select a.status, a.caller_instance_id, a.target_instance_id, a.hold_id,
      CAST(a.deadline_at AS timestamptz) as deadline_at, a.answered_at
    from invoke_audit a where a.tenant_id = $1 and a.invoke_id = $2 for update`,
);

/** $1 tenant, $2 invoke id: answered (completed, failed or late), else no row. */
export const answeredInvoke = /* @__PURE__ */ statement(
  () => `select ${columns} from invoke_audit a where a.tenant_id = $1 and a.invoke_id = $2
    and a.status in (${S.completed}, ${S.failed}, ${S.late}, ${S.canceled})`,
);

/**
 * The answer: $1 tenant, $2 invoke id, $3 status, $4 response, $5 error, $6 credits charged, $7 now.
 * Duration from the start. The request message is acked with it (done with once answered).
 */
export const answerInvoke = /* @__PURE__ */ statement(
  () => `with ack as (
      update agent_messages set acked_at = $7, leased_until = null
      where tenant_id = $1 and invoke_id = $2 and acked_at is null)
    update invoke_audit a set status = $3, response_payload = CAST($4 AS jsonb), error_message = $5,
      credits_charged = CAST($6 AS numeric), completed_at = $7, answered_at = $7,
      duration_ms = CAST(round(extract(epoch from CAST($7 AS timestamptz) - a.started_at) * 1000) AS integer)
    where a.tenant_id = $1 and a.invoke_id = $2 returning ${columns}`,
);

/**
 * The common answer in one statement (no transaction, no lock taken beforehand): an open invoke
 * (submitted or working) without a credits hold, answered by its target ($6, or null for a key
 * acting as no instance). $1 tenant, $2 invoke id, $3 status when in time (completed or failed),
 * $4 response, $5 error, $7 now; after its deadline it is `late`. The request message is acked
 * with it. No row: anything else (not found, not the target, answered, timed out, canceled, a
 * hold), which respond's locked path decides.
 */
export const answerOpenInvoke = /* @__PURE__ */ statement(
  () => `with answered as (
      update invoke_audit a set status = case when CAST($7 AS timestamptz) > a.deadline_at then ${S.late} else $3 end,
        response_payload = CAST($4 AS jsonb), error_message = $5, completed_at = $7, answered_at = $7,
        duration_ms = CAST(round(extract(epoch from CAST($7 AS timestamptz) - a.started_at) * 1000) AS integer)
      where a.tenant_id = $1 and a.invoke_id = $2 and a.status in (${S.submitted}, ${S.working}) and a.hold_id is null
        and (CAST($6 AS text) is null or a.target_instance_id = $6)
      returning ${columns}),
    ack as (
      update agent_messages m set acked_at = $7, leased_until = null from answered
      where m.tenant_id = $1 and m.invoke_id = answered.invoke_id and m.acked_at is null)
    select * from answered`,
);

/**
 * The caller canceled it: $1 tenant, $2 invoke id, $3 now, $4 credits charged (0 with a hold, else
 * null). Duration from the start; a timed-out invoke keeps the duration of its deadline.
 */
export const cancelInvoke = /* @__PURE__ */ statement(
  () => `update invoke_audit a set status = ${S.canceled}, completed_at = $3, credits_charged = CAST($4 AS numeric),
      duration_ms = coalesce(a.duration_ms,
        CAST(round(extract(epoch from CAST($3 AS timestamptz) - a.started_at) * 1000) AS integer))
    where a.tenant_id = $1 and a.invoke_id = $2 returning ${columns}`,
);

/** The target's answer after its caller canceled: $1 tenant, $2 invoke id, $3 response, $4 error, $5 now. Status stays canceled. */
export const answerAfterCancel = /* @__PURE__ */ statement(
  () => `update invoke_audit a set response_payload = CAST($3 AS jsonb), error_message = $4, answered_at = $5
    where a.tenant_id = $1 and a.invoke_id = $2 returning ${columns}`,
);

/** $1 tenant, $2 invoke id, $3 now: the deadline passed unanswered; the hold to release. */
export const timeOutInvoke = /* @__PURE__ */ statement(
  () => `update invoke_audit a set status = ${S.timeout},
      duration_ms = CAST(round(extract(epoch from CAST($3 AS timestamptz) - a.started_at) * 1000) AS integer)
    where a.tenant_id = $1 and a.invoke_id = $2 and a.status in (${S.submitted}, ${S.working})
    returning a.hold_id`,
);

/** Sweep, across tenants: $1 cutoff, $2 batch. Open invokes whose deadline passed before the cutoff (their caller died). */
export const overdueInvokes = /* @__PURE__ */ statement(
  () => `select tenant_id, invoke_id from invoke_audit
    where status in (${S.submitted}, ${S.working}) and deadline_at < $1 order by deadline_at limit $2`,
);

/** $1 invoke ids, $2 tenant, $3 now: their request messages were received, the invokes are working. */
export const markWorking = /* @__PURE__ */ statement(
  () => `update invoke_audit set status = ${S.working}, received_at = $3
    where tenant_id = $2 and invoke_id = any(CAST($1 AS text[])) and status = ${S.submitted}`,
);

/** $1 tenant, $2 invoke id, $3 now: the request message is done with once the invoke is answered. */
export const ackRequest = `update agent_messages set acked_at = $3, leased_until = null
    where tenant_id = $1 and invoke_id = $2 and acked_at is null`;

/** $1 tenant, $2 job or null, $3 caller or null, $4/$5 cursor (started_at, invoke_id) or null, $6 limit. Newest first. */
export const listInvokes = /* @__PURE__ */ statement(
  () => `select ${columns} from invoke_audit a
    where a.tenant_id = $1 and (CAST($2 AS uuid) is null or a.job_id = $2)
      and (CAST($3 AS text) is null or a.caller_instance_id = $3)
      and (CAST($4 AS timestamptz) is null or (a.started_at, a.invoke_id) < (CAST($4 AS timestamptz), CAST($5 AS text)))
    order by a.started_at desc, a.invoke_id desc limit $6`,
);
