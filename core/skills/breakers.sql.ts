/**
 * The circuit breakers' SQL (circuit_breaker_state). Every time is a parameter taken from
 * `clock()`, never the database's now(), so tests can move time by hand.
 *
 * A breaker is addressed by (tenant, target) with the tenant null for a shared target. `$1` is
 * always the target and `$2` the tenant: the `$2 is null` branch folds away when Postgres plans
 * the statement with its parameter values, so the unique (tenant_id, target) index still serves.
 */
const byKey = `target = $1 and (tenant_id = CAST($2 AS uuid) or (CAST($2 AS uuid) is null and tenant_id is null))`;

/** Wire-shaped columns (BreakerInfo) plus what the breaker itself needs. */
const columns = `id, target, tenant_id, state, failure_count, last_failure_at, last_error, opened_at, cooldown_until,
  probe_id, probe_until, updated_at`;

export const sql = {
  /** The fast path of every call: one indexed read, no write. */
  get: `select ${columns} from circuit_breaker_state where ${byKey}`,

  lock: `select ${columns} from circuit_breaker_state where ${byKey} for update`,

  /**
   * Become the HALF_OPEN probe. The row must still be in the state the caller read ($3) and still
   * let a probe through: under READ COMMITTED a caller blocked on the row lock re-checks these
   * conditions against the winner's committed row, finds HALF_OPEN with a live probe, and updates
   * nothing. So of any number of concurrent callers exactly one gets a row back.
   */
  takeProbe: `update circuit_breaker_state
    set state = 'HALF_OPEN', probe_id = CAST($4 AS uuid), probe_until = CAST($5 AS timestamptz),
      updated_at = CAST($6 AS timestamptz)
    where ${byKey} and state = $3
      and ((state = 'OPEN' and coalesce(cooldown_until, '-infinity') <= CAST($6 AS timestamptz))
        or (state = 'HALF_OPEN' and coalesce(probe_until, '-infinity') <= CAST($6 AS timestamptz)))
    returning ${columns}`,

  /** The probe answered: back to CLOSED. A probe whose permit lapsed and was taken over matches nothing. */
  closeAfterProbe: `update circuit_breaker_state
    set state = 'CLOSED', failure_count = 0, opened_at = null, cooldown_until = null, probe_id = null,
      probe_until = null, updated_at = CAST($4 AS timestamptz)
    where ${byKey} and state = 'HALF_OPEN' and probe_id = CAST($3 AS uuid)
    returning ${columns}`,

  /** Consecutive failures only: a success forgets them. A healthy breaker matches nothing (no write). */
  clearFailures: `update circuit_breaker_state set failure_count = 0, updated_at = CAST($3 AS timestamptz)
    where ${byKey} and state = 'CLOSED' and failure_count > 0`,

  /** The probe failed: OPEN again with a fresh cooldown. */
  reopenAfterProbe: `update circuit_breaker_state
    set state = 'OPEN', failure_count = failure_count + 1, last_failure_at = CAST($4 AS timestamptz),
      last_error = $5, opened_at = CAST($4 AS timestamptz), cooldown_until = CAST($6 AS timestamptz),
      probe_id = null, probe_until = null, updated_at = CAST($4 AS timestamptz)
    where ${byKey} and state = 'HALF_OPEN' and probe_id = CAST($3 AS uuid)
    returning ${columns}`,

  /**
   * Record a failure, creating the row on the first one, and lock it for the rest of the
   * transaction. Only a CLOSED breaker counts it: a call let through before the breaker opened
   * that fails later changes the last error, not the state.
   */
  recordFailure: `insert into circuit_breaker_state as b (target, tenant_id, failure_count, last_failure_at, last_error,
      updated_at)
    values ($1, CAST($2 AS uuid), 1, CAST($3 AS timestamptz), $4, CAST($3 AS timestamptz))
    on conflict (tenant_id, target) do update set
      failure_count = case when b.state = 'CLOSED' then b.failure_count + 1 else b.failure_count end,
      last_failure_at = excluded.last_failure_at, last_error = excluded.last_error, updated_at = excluded.updated_at
    returning ${columns}`,

  /** Called on the row recordFailure locked, once the count reached the threshold. */
  open: `update circuit_breaker_state
    set state = 'OPEN', opened_at = CAST($2 AS timestamptz), cooldown_until = CAST($3 AS timestamptz),
      probe_id = null, probe_until = null
    where id = $1 and state = 'CLOSED'
    returning ${columns}`,

  /** Admin reset of the locked row: CLOSED, failures forgotten (the last error is kept for the record). */
  reset: `update circuit_breaker_state
    set state = 'CLOSED', failure_count = 0, opened_at = null, cooldown_until = null, probe_id = null,
      probe_until = null, updated_at = CAST($2 AS timestamptz)
    where id = $1
    returning ${columns}`,

  /** The tenant's own breakers and every shared one, most recently changed first. */
  list: `select ${columns} from circuit_breaker_state
    where (tenant_id = CAST($1 AS uuid) or tenant_id is null)
      and (CAST($2 AS text) is null or state = CAST($2 AS text))
    order by updated_at desc, id desc`,
} as const;

export interface BreakerRow {
  id: number;
  target: string;
  tenant_id: string | null;
  state: "CLOSED" | "OPEN" | "HALF_OPEN";
  failure_count: number;
  last_failure_at: Date | null;
  last_error: string | null;
  opened_at: Date | null;
  cooldown_until: Date | null;
  probe_id: string | null;
  probe_until: Date | null;
  updated_at: Date;
}
