/**
 * The SQL of idempotency records (skill_executions, migrations/0004_skills.sql and 0013): a
 * skill's keys under its name, a creating POST's under `route:<name>`; the column `skill` holds
 * that scope.
 *
 * Every instant (created_at, lease_until, completed_at, the sweep's cut-off) is a parameter
 * decided by `clock()` in JS, never Postgres' `now()`, so leases and retention follow a
 * ManualClock in tests. Every statement but the sweep is scoped to the tenant.
 */
import { sqlLiterals } from "../db/literal.ts";
import { statement } from "../db/statement.ts";
import { type ExecutionState, ExecutionStates } from "./states.ts";

const E = sqlLiterals(ExecutionStates);

/** A row as `begin` reads it; column aliases are already camelCase. */
export interface ExecutionRow {
  id: string;
  argsHash: string;
  status: ExecutionState;
  result: unknown;
  error: Record<string, unknown> | null;
  attempts: number;
  leaseUntil: Date;
  durationMs: number | null;
  completedAt: Date | null;
}
/**
 * Claim a free key: $1 tenant, $2 scope, $3 version, $4 key, $5 args hash, $6 now, $7 lease end.
 * Returns no row when the key is taken (ON CONFLICT waits for a concurrent insert to commit).
 */
export const insert = /* @__PURE__ */ statement(
  () => `insert into skill_executions
      (tenant_id, skill, skill_version, idempotency_key, args_hash, status, attempts, lease_until, created_at)
    values ($1, $2, $3, $4, $5, ${E.running}, 1, $7, $6)
    on conflict (tenant_id, skill, idempotency_key) do nothing
    returning id, attempts`,
);

/** The row holding the key: $1 tenant, $2 scope, $3 key. */
export const select = `select id, args_hash as "argsHash", status, result, error, attempts, lease_until as "leaseUntil",
      duration_ms as "durationMs", completed_at as "completedAt"
    from skill_executions
    where tenant_id = $1 and skill = $2 and idempotency_key = $3`;

/**
 * Take over a running row whose lease ended: $1 id, $2 tenant, $3 now, $4 new lease end,
 * $5 version. The WHERE is re-checked on the row's latest version after its lock, so of many
 * concurrent callers exactly one gets a row back.
 */
export const takeOver = /* @__PURE__ */ statement(
  () => `update skill_executions
    set attempts = attempts + 1, lease_until = $4, skill_version = $5
    where id = $1 and tenant_id = $2 and status = ${E.running} and lease_until <= $3
    returning id, attempts`,
);

/**
 * The UPDATE that stores a result, its values given as SQL expressions (placeholders): what
 * `succeed` runs, and what a caller that writes the result in a statement of its own embeds (a
 * workflow step's fold, core/workflows/step.sql.ts). `attempts` fences a caller whose lease was
 * taken over: it stores nothing.
 */
export const succeedFrom = (v: {
  id: string;
  tenant: string;
  attempts: string;
  result: string;
  at: string;
  ms: string;
}) =>
  `update skill_executions
    set status = ${E.succeeded}, result = CAST(${v.result} AS jsonb), completed_at = CAST(${v.at} AS timestamptz),
      duration_ms = CAST(${v.ms} AS integer)
    where id = CAST(${v.id} AS uuid) and tenant_id = CAST(${v.tenant} AS uuid) and status = ${E.running}
      and attempts = CAST(${v.attempts} AS integer)`;

/** Store a result: $1 id, $2 tenant, $3 attempts, $4 result (JSON text), $5 completed at, $6 duration ms. */
export const succeed = /* @__PURE__ */ statement(() =>
  succeedFrom({ id: "$1", tenant: "$2", attempts: "$3", result: "$4", at: "$5", ms: "$6" }),
);

/** Store a final failure: $1 id, $2 tenant, $3 attempts, $4 error (JSON text), $5 completed at, $6 ms. */
export const failFinal = /* @__PURE__ */ statement(
  () => `update skill_executions
    set status = ${E.failed}, error = CAST($4 AS jsonb), completed_at = $5, duration_ms = $6
    where id = $1 and tenant_id = $2 and status = ${E.running} and attempts = $3`,
);

/** Free the key after a retryable failure: $1 id, $2 tenant, $3 attempts (same fencing). */
export const release = /* @__PURE__ */ statement(
  () => `delete from skill_executions
    where id = $1 and tenant_id = $2 and status = ${E.running} and attempts = $3`,
);

/**
 * One batch of the retention sweep, across tenants: $1 cut-off, $2 batch size. Finished rows
 * created before the cut-off go, and running rows whose lease ended before it. A lease never
 * ends before its row was created (lease_until = created_at + lease, later moved forward by
 * takeovers), so `created_at < $1` holds for both and lets the created_at index find them.
 * SKIP LOCKED passes over rows a caller is finishing or taking over right now; the WHERE is
 * re-checked after the lock, so a row taken over meanwhile (new lease) stays.
 */
export const sweepBatch = /* @__PURE__ */ statement(
  () => `delete from skill_executions
    where id in (
      select id from skill_executions
      where created_at < $1 and (status <> ${E.running} or lease_until < $1)
      order by created_at
      limit $2
      for update skip locked
    )`,
);
