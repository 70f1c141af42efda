/**
 * The SQL of replay_runs: a replay verified inline is written once, with its verdict; one queued
 * (a run with more ops than WORKFLOW_REPLAY_MAX_OPS) is written `pending`, taken by the
 * WorkflowReplays worker under a lease and finished by it. Rows come back in the API's wire shape.
 */
import { isoUtc } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import type { OutboxTable } from "../platform/outbox/outbox.sql.ts";
import { ReplayStates } from "./states.ts";

const P = sqlLiterals(ReplayStates);

const replayColumns = `p.replay_id, p.workflow_run_id, p.mode, p.version, p.status, p.ops_total, p.ops_verified, p.ops_failed,
  p.ops_skipped, p.first_mismatch_op_index, p.mismatch_diff, p.severity, p.mismatches, p.error_message, p.requested_by,
  ${isoUtc("p.started_at")} as started_at, ${isoUtc("p.completed_at")} as completed_at`;

/**
 * A finished replay: $1 tenant, $2 run, $3 mode, $4 version, $5 status, $6 ops_total,
 * $7 ops_verified, $8 ops_failed, $9 ops_skipped, $10 first mismatch, $11 diff, $12 severity,
 * $13 mismatches, $14 error_message, $15 actor, $16 started_at, $17 completed_at.
 */
export const insertReplay = /* @__PURE__ */ statement(
  () => `insert into replay_runs as p (tenant_id, workflow_run_id, mode, version, status, ops_total, ops_verified, ops_failed,
      ops_skipped, first_mismatch_op_index, mismatch_diff, severity, mismatches, error_message, requested_by, started_at,
      completed_at)
    values (CAST($1 AS uuid), CAST($2 AS uuid), CAST($3 AS text), CAST($4 AS integer), CAST($5 AS text), $6, $7, $8, $9,
      CAST($10 AS integer), CAST($11 AS jsonb), CAST($12 AS text), CAST($13 AS jsonb), CAST($14 AS text), CAST($15 AS text),
      CAST($16 AS timestamptz), CAST($17 AS timestamptz))
    returning ${replayColumns}`,
);

/** $1 replay, $2 run, $3 tenant. */
export const getReplay = /* @__PURE__ */ statement(
  () => `select ${replayColumns} from replay_runs p
    where p.replay_id = CAST($1 AS uuid) and p.workflow_run_id = CAST($2 AS uuid) and p.tenant_id = CAST($3 AS uuid)`,
);

/**
 * Take a queued replay: $1 replay, $2 tenant, $3 now, $4 lease end. A pending one, or a running one
 * whose lease ended (its worker died). No row: finished, held by a live lease, or not the tenant's.
 */
export const claimReplay = /* @__PURE__ */ statement(
  () => `update replay_runs p set status = ${P.running}, lease_until = CAST($4 AS timestamptz)
    where p.replay_id = CAST($1 AS uuid) and p.tenant_id = CAST($2 AS uuid)
      and (p.status = ${P.pending} or (p.status = ${P.running} and p.lease_until < CAST($3 AS timestamptz)))
    returning p.replay_id, p.workflow_run_id, p.mode, p.version, p.lease_until`,
);

/** $1 replay, $2 tenant: its state (why a claim took nothing). */
export const replayState = /* @__PURE__ */ statement(
  () => `select p.status, p.lease_until from replay_runs p
    where p.replay_id = CAST($1 AS uuid) and p.tenant_id = CAST($2 AS uuid)`,
);

/**
 * The verdict of a queued replay, written only while the worker's lease is the one it took: $1
 * replay, $2 tenant, $3 lease end it took, $4 status, $5 ops_total, $6 ops_verified, $7 ops_failed,
 * $8 ops_skipped, $9 first mismatch, $10 diff, $11 severity, $12 mismatches, $13 error_message,
 * $14 completed_at. No row: another worker took it over (its lease ran out).
 */
export const finishReplay = /* @__PURE__ */ statement(
  () => `update replay_runs p set status = CAST($4 AS text), ops_total = $5, ops_verified = $6, ops_failed = $7,
      ops_skipped = $8, first_mismatch_op_index = CAST($9 AS integer), mismatch_diff = CAST($10 AS jsonb),
      severity = CAST($11 AS text), mismatches = CAST($12 AS jsonb), error_message = CAST($13 AS text),
      completed_at = CAST($14 AS timestamptz), lease_until = null
    where p.replay_id = CAST($1 AS uuid) and p.tenant_id = CAST($2 AS uuid) and p.status = ${P.running}
      and p.lease_until = CAST($3 AS timestamptz)
    returning ${replayColumns}`,
);

/**
 * The replay outbox's table (replay-outbox.ts): a pending replay wants a message, and so does a
 * running one whose lease ended a minute ago (its worker died; SQS usually redelivers by then).
 * One sent is presumed lost after 15 minutes (more than the queue's visibility timeout).
 */
export const replayOutboxTable: OutboxTable = {
  table: "replay_runs",
  id: "replay_id",
  columns: "t.replay_id as id, t.tenant_id",
  waiting: `t.status = ${P.pending}
    or (t.status = ${P.running} and t.lease_until < CAST($1 AS timestamptz) - interval '60 seconds')`,
  createdAt: "t.started_at",
  resendAfterS: 900,
  needsMessageSince: `case when t.status = ${P.running} then t.lease_until end`,
};
