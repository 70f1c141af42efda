/**
 * The SQL of definitions and runs. Rows come back in the API's wire shape (snake_case, instants
 * as UTC text with microseconds, amounts as float8: they have at most 4 decimals). Every statement
 * names `tenant_id`; instants written are parameters decided by `clock()` in JS.
 */

import { isoUtc, prepared } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import type { OutboxTable } from "../platform/outbox/outbox.sql.ts";
import type { RunEstimate } from "./schema.ts";
import { RunStates } from "./states.ts";

const R = sqlLiterals(RunStates);

/** The class of the advisory lock that serialises registrations of one name ("wflw" in ASCII). */
const LOCK_CLASS = 2003200119;

const definitionColumns = `d.id, d.name, d.version, d.steps, d.steps_hash, d.created_by, ${isoUtc("d.created_at")} as created_at`;

/** $1 tenant, $2 name: registrations of one name wait for each other (until commit). */
export const lockName = `select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(CAST($1 AS text) || '/' || CAST($2 AS text)))`;

/** $1 tenant, $2 name, $3 version or null (the latest). */
export const getDefinition = /* @__PURE__ */ statement(
  () => `select ${definitionColumns} from workflow_definitions d
    where d.tenant_id = CAST($1 AS uuid) and d.name = CAST($2 AS text)
      and (CAST($3 AS integer) is null or d.version = CAST($3 AS integer))
    order by d.version desc limit 1`,
);

/** $1 tenant, $2 names: every version of each, oldest first. */
export const versionsOf = `select name, array_agg(version order by version) as versions from workflow_definitions
    where tenant_id = CAST($1 AS uuid) and name = any(CAST($2 AS text[])) group by name`;

/** $1 tenant, $2 name, $3 version, $4 steps, $5 steps_hash, $6 actor. */
export const insertDefinition = /* @__PURE__ */ statement(
  () => `insert into workflow_definitions as d (tenant_id, name, version, steps, steps_hash, created_by)
    values (CAST($1 AS uuid), CAST($2 AS text), CAST($3 AS integer), CAST($4 AS jsonb), CAST($5 AS text), CAST($6 AS text))
    returning ${definitionColumns}`,
);

/** $1 tenant, $2 names after this one (or null), $3 limit: the latest version of each name, by name. */
export const listDefinitions = /* @__PURE__ */ statement(
  () => `select distinct on (d.name) ${definitionColumns} from workflow_definitions d
    where d.tenant_id = CAST($1 AS uuid) and (CAST($2 AS text) is null or d.name > CAST($2 AS text))
    order by d.name, d.version desc limit $3`,
);

const runColumns = `r.id, r.tenant_id, r.workflow_name as workflow, r.version, r.status, r.input, r.idempotency_key,
  r.forked_from, r.fork_op_index, r.steps_total, r.next_op_index, r.attempt,
  json_build_object('reserved', CAST(r.credits_reserved AS float8), 'charged', CAST(r.credits_charged AS float8)) as credits,
  r.error, r.head_hash, r.created_by, ${isoUtc("r.created_at")} as created_at, ${isoUtc("r.updated_at")} as updated_at,
  ${isoUtc("r.finished_at")} as finished_at, r.estimate,
  case when r.finished_at is not null then json_build_object('credits', CAST(r.credits_charged AS float8),
    'duration_ms', CAST(round(extract(epoch from r.finished_at - r.created_at) * 1000) AS bigint)) end as actual`;

/** A run with what its steps need: the definition's steps and the internal definition id. */
export interface RunRow {
  id: string;
  tenant_id: string;
  workflow: string;
  version: number;
  status: string;
  input: Record<string, unknown>;
  idempotency_key: string | null;
  forked_from: string | null;
  fork_op_index: number | null;
  steps_total: number;
  next_op_index: number;
  attempt: number;
  credits: { reserved: number; charged: number };
  error: Record<string, unknown> | null;
  head_hash: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  estimate: RunEstimate | null;
  actual: { credits: number; duration_ms: number } | null;
}

/**
 * $1 tenant, $2 definition id, $3 name, $4 version, $5 input, $6 idempotency key, $7 forked_from,
 * $8 fork op index, $9 steps_total, $10 next_op_index, $11 actor, $12 now, $13 estimate. No row when the key
 * started a run already.
 */
export const insertRun = /* @__PURE__ */ statement(
  () => `insert into workflow_runs as r (tenant_id, definition_id, workflow_name, version, input, idempotency_key,
      forked_from, fork_op_index, steps_total, next_op_index, created_by, updated_at, estimate)
    values (CAST($1 AS uuid), CAST($2 AS uuid), CAST($3 AS text), CAST($4 AS integer), CAST($5 AS jsonb), CAST($6 AS text),
      CAST($7 AS uuid), CAST($8 AS integer), CAST($9 AS integer), CAST($10 AS integer), CAST($11 AS text), CAST($12 AS timestamptz),
      CAST($13 AS jsonb))
    on conflict (tenant_id, idempotency_key) do nothing
    returning ${runColumns}`,
);

/** $1 tenant, $2 key: the run a key started. */
export const runByKey = /* @__PURE__ */ statement(
  () => `select ${runColumns}, r.definition_id from workflow_runs r
    where r.tenant_id = CAST($1 AS uuid) and r.idempotency_key = CAST($2 AS text)`,
);

/** $1 run, $2 tenant. */
export const getRun = /* @__PURE__ */ statement(
  () => `select ${runColumns} from workflow_runs r where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid)`,
);

/** $1 run, $2 tenant: the run locked, with its credits (its definition's steps are not read: a step has its own). */
export const lockRun = /* @__PURE__ */ statement(
  () => `select ${runColumns}, CAST(r.credits_reserved AS float8) as reserved, CAST(r.credits_charged AS float8) as charged
    from workflow_runs r where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid) for update of r`,
);

/**
 * $1 run, $2 tenant: the run unlocked, its credits and its definition's id, as a step reads it
 * before its call (the definition's steps come from step-read.ts's cache: a definition never
 * changes). Prepared: one parse and plan per connection.
 */
export const runAtStep = /* @__PURE__ */ statement(() =>
  prepared(
    "workflows_run_at_step",
    `select ${runColumns}, CAST(r.credits_reserved AS float8) as reserved, CAST(r.credits_charged AS float8) as charged,
      r.definition_id
    from workflow_runs r
    where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid)`,
  ),
);

/** $1 definition, $2 tenant: its steps. */
export const definitionSteps = /* @__PURE__ */ statement(
  () => `select d.steps from workflow_definitions d where d.id = CAST($1 AS uuid) and d.tenant_id = CAST($2 AS uuid)`,
);

/**
 * $1 run, $2 tenant: the run and its definition's id, unlocked (a replay: the steps come from
 * step-read.ts's cache of definitions, which never change).
 */
export const runWithDefinition = /* @__PURE__ */ statement(
  () => `select ${runColumns}, r.definition_id from workflow_runs r
    where r.id = CAST($1 AS uuid) and r.tenant_id = CAST($2 AS uuid)`,
);

/**
 * The run moved on: $1 run, $2 tenant, $3 status, $4 next_op_index, $5 attempt, $6 charged now
 * (added), $7 head hash (null keeps it), $8 error (null keeps it), $9 now, $10 reserved added.
 */
export const moveRun = `update workflow_runs set status = CAST($3 AS text), next_op_index = CAST($4 AS integer),
      attempt = CAST($5 AS integer), credits_charged = credits_charged + CAST($6 AS numeric),
      credits_reserved = credits_reserved + CAST($10 AS numeric),
      head_hash = coalesce(CAST($7 AS text), head_hash), error = coalesce(CAST($8 AS jsonb), error),
      updated_at = CAST($9 AS timestamptz),
      finished_at = case when CAST($3 AS text) = ${R.running} then null else CAST($9 AS timestamptz) end
    where id = CAST($1 AS uuid) and tenant_id = CAST($2 AS uuid)`;

export interface RunFilters {
  tenantId: string;
  workflow?: string | undefined;
  status?: string | undefined;
  after?: [string, string] | undefined;
  limit: number;
}

/** One page of the tenant's runs, newest first; only the filters given become conditions. */
export function runPageSql(f: RunFilters): { text: string; params: unknown[] } {
  const params: unknown[] = [f.tenantId];
  const where = ["r.tenant_id = CAST($1 AS uuid)"];
  const add = (cond: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(cond(`$${params.length}`));
  };
  if (f.workflow !== undefined) add((p) => `r.workflow_name = CAST(${p} AS text)`, f.workflow);
  if (f.status !== undefined) add((p) => `r.status = CAST(${p} AS text)`, f.status);
  if (f.after !== undefined) {
    params.push(f.after[0], f.after[1]);
    where.push(`(r.created_at, r.id) < (CAST($${params.length - 1} AS timestamptz), CAST($${params.length} AS uuid))`);
  }
  params.push(f.limit + 1);
  return {
    text: `select ${runColumns}, ${isoUtc("r.created_at")} as page_at from workflow_runs r where ${where.join(" and ")}
      order by r.created_at desc, r.id desc limit $${params.length}`,
    params,
  };
}

/** The step outbox: a running run wants a message for its next op. */
export const runOutboxTable: OutboxTable = {
  table: "workflow_runs",
  columns: "t.id, t.tenant_id, t.next_op_index",
  waiting: `t.status = ${R.running}`,
  createdAt: "t.updated_at",
  // A step may take its timeout (at most 900 s) and its retries: presume a message lost after this.
  resendAfterS: 1200,
};

/** $1 now, $2 seconds: running runs not moved on for that long (the stuck-runs gauge). */
export const stuckRuns = `select CAST(count(*) AS integer) as n from workflow_runs
    where status = ${R.running} and updated_at < CAST($1 AS timestamptz) - make_interval(secs => CAST($2 AS integer))`;
