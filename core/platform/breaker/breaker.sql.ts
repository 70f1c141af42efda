/**
 * The circuit breakers' SQL (circuit_breaker_state), for every kind of breaker. Every time is a
 * parameter taken from `clock()`, never the database's now(), so tests can move time by hand.
 *
 * A breaker is addressed by (kind, tenant, target) with the tenant null for a shared target. `$1`
 * is always the kind, `$2` the target and `$3` the tenant: the `$3 is null` branch folds away when
 * Postgres plans the statement with its parameter values, so the unique (kind, tenant_id, target)
 * index still serves. Every write bumps `version` (see cache.ts). State names are interpolated
 * from the constants the code uses, as literals.
 */
import { sqlLiteral } from "../db/literal.ts";
import { statement } from "../db/statement.ts";
import { type BreakerState, BreakerStates } from "./states.ts";

const CLOSED = sqlLiteral(BreakerStates.closed);
const OPEN = sqlLiteral(BreakerStates.open);
const HALF_OPEN = sqlLiteral(BreakerStates.halfOpen);

const byKey = `kind = $1 and target = $2
  and (tenant_id = CAST($3 AS uuid) or (CAST($3 AS uuid) is null and tenant_id is null))`;

const columns = `id, kind, target, tenant_id, state, failure_count, recent_failures, last_failure_at, last_error,
  opened_at, cooldown_until, probe_id, probe_until, version, updated_at`;
export const get = /* @__PURE__ */ statement(() => `select ${columns} from circuit_breaker_state where ${byKey}`);

export const lock = /* @__PURE__ */ statement(
  () => `select ${columns} from circuit_breaker_state where ${byKey} for update`,
);

/**
 * Become the HALF_OPEN probe. The row must still be in the state the caller read ($4) and still
 * let a probe through: under READ COMMITTED a caller blocked on the row lock re-checks these
 * conditions against the winner's committed row, finds HALF_OPEN with a live probe, and updates
 * nothing. So of any number of concurrent callers exactly one gets a row back.
 */
export const takeProbe = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set state = ${HALF_OPEN}, probe_id = CAST($5 AS uuid), probe_until = CAST($6 AS timestamptz),
      updated_at = CAST($7 AS timestamptz), version = version + 1
    where ${byKey} and state = $4
      and ((state = ${OPEN} and coalesce(cooldown_until, '-infinity') <= CAST($7 AS timestamptz))
        or (state = ${HALF_OPEN} and coalesce(probe_until, '-infinity') <= CAST($7 AS timestamptz)))
    returning ${columns}`,
);

/** The probe answered: back to CLOSED. A probe whose permit lapsed and was taken over matches nothing. */
export const closeAfterProbe = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set state = ${CLOSED}, failure_count = 0, recent_failures = null, opened_at = null, cooldown_until = null,
      probe_id = null, probe_until = null, updated_at = CAST($5 AS timestamptz), version = version + 1
    where ${byKey} and state = ${HALF_OPEN} and probe_id = CAST($4 AS uuid)
    returning ${columns}`,
);

/** Consecutive failures only: a success forgets them. A healthy breaker matches nothing (no write). */
export const clearFailures = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set failure_count = 0, updated_at = CAST($4 AS timestamptz), version = version + 1
    where ${byKey} and state = ${CLOSED} and failure_count > 0
    returning ${columns}`,
);

/** The probe failed: OPEN again with a fresh cooldown. */
export const reopenAfterProbe = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set state = ${OPEN}, failure_count = failure_count + 1, last_failure_at = CAST($5 AS timestamptz),
      last_error = $6, opened_at = CAST($5 AS timestamptz), cooldown_until = CAST($7 AS timestamptz),
      probe_id = null, probe_until = null, updated_at = CAST($5 AS timestamptz), version = version + 1
    where ${byKey} and state = ${HALF_OPEN} and probe_id = CAST($4 AS uuid)
    returning ${columns}`,
);

/**
 * Note a failure (its time and error), creating the row on the first one, and lock the row for
 * the rest of the transaction: the count is then set by `countFailures` on the locked row.
 */
export const noteFailure = /* @__PURE__ */ statement(
  () => `insert into circuit_breaker_state as b (kind, target, tenant_id, last_failure_at, last_error,
      updated_at, version)
    values ($1, $2, CAST($3 AS uuid), CAST($4 AS timestamptz), $5, CAST($4 AS timestamptz), 1)
    on conflict (kind, tenant_id, target) do update set
      last_failure_at = excluded.last_failure_at, last_error = excluded.last_error, updated_at = excluded.updated_at,
      version = b.version + 1
    returning ${columns}`,
);

/** The new count (and, for a window breaker, the failure times it counts) of a CLOSED locked row. */
export const countFailures = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set failure_count = $2, recent_failures = CAST($3 AS timestamptz[])
    where id = $1 and state = ${CLOSED}
    returning ${columns}`,
);

/** Open the locked row (threshold reached): a fresh cooldown, no probe. */
export const open = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set state = ${OPEN}, opened_at = CAST($2 AS timestamptz), cooldown_until = CAST($3 AS timestamptz),
      probe_id = null, probe_until = null, version = version + 1
    where id = $1 and state = ${CLOSED}
    returning ${columns}`,
);

/**
 * A caller opens the breaker itself (a drift breaker on drift), whatever its state; a breaker
 * already open gets the new cooldown. Creates the row when the breaker never failed.
 */
export const forceOpen = /* @__PURE__ */ statement(
  () => `insert into circuit_breaker_state as b (kind, target, tenant_id, state, opened_at, cooldown_until,
      updated_at, version)
    values ($1, $2, CAST($3 AS uuid), ${OPEN}, CAST($4 AS timestamptz), CAST($5 AS timestamptz),
      CAST($4 AS timestamptz), 1)
    on conflict (kind, tenant_id, target) do update set
      state = ${OPEN}, opened_at = excluded.opened_at, cooldown_until = excluded.cooldown_until, probe_id = null,
      probe_until = null, updated_at = excluded.updated_at, version = b.version + 1
    returning ${columns}`,
);

/** Back to CLOSED, failures forgotten (the last error is kept for the record), of a locked row. */
export const reset = /* @__PURE__ */ statement(
  () => `update circuit_breaker_state
    set state = ${CLOSED}, failure_count = 0, recent_failures = null, opened_at = null, cooldown_until = null,
      probe_id = null, probe_until = null, updated_at = CAST($2 AS timestamptz), version = version + 1
    where id = $1
    returning ${columns}`,
);

/** A kind's breakers of one tenant and every shared one, most recently changed first. */
export const list = /* @__PURE__ */ statement(
  () => `select ${columns} from circuit_breaker_state
    where kind = $1 and (tenant_id = CAST($2 AS uuid) or tenant_id is null)
      and (CAST($3 AS text) is null or state = CAST($3 AS text))
    order by updated_at desc, id desc`,
);

/**
 * Every breaker that is not CLOSED, counted by kind, state and scope, with the earliest end of
 * their cooldowns: what /health shows (counts only: a target may be a tenant's host).
 */
export const summary = /* @__PURE__ */ statement(
  () => `select kind, state, tenant_id is not null as tenant_scoped, CAST(count(*) AS integer) as n,
      min(cooldown_until) as cooldown_until
    from circuit_breaker_state
    where state <> ${CLOSED}
    group by kind, state, tenant_id is not null`,
);

export interface BreakerSummaryRow {
  kind: string;
  state: BreakerState;
  tenant_scoped: boolean;
  n: number;
  cooldown_until: Date | null;
}

export interface BreakerRow {
  id: number;
  kind: string;
  target: string;
  tenant_id: string | null;
  state: BreakerState;
  failure_count: number;
  recent_failures: Date[] | null;
  last_failure_at: Date | null;
  last_error: string | null;
  opened_at: Date | null;
  cooldown_until: Date | null;
  probe_id: string | null;
  probe_until: Date | null;
  /** pg returns bigint as text. */
  version: string;
  updated_at: Date;
}
