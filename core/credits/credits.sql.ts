/**
 * The credits domain's SQL. Amounts are `numeric` in Postgres and leave it as text (pg keeps
 * numeric exact), so every sum is done here, never by adding floats in JS; `toAmount` parses the
 * result once.
 *
 * The balance row is touched by `reserve`, `refund`, `settle` and `grant` (once per job or
 * grant) and by a direct skill execution's hold (reserve, then capture or release); per-item
 * movements are ledger rows only, and `live` adds those of unsettled jobs.
 */
import { isoUtc } from "../platform/db/index.ts";
import { statement } from "../platform/db/statement.ts";

/**
 * The ledger's deltas follow from the kind (the table's CHECK says the same): written here once
 * so no caller can get a sign wrong.
 */
const insertLedgerInto = `insert into credit_ledger
      (tenant_id, kind, amount, balance_delta, reserved_delta, job_id, item_id, idempotency_key, reason, actor)
    values (CAST($1 AS uuid), CAST($2 AS text), CAST($3 AS numeric),
      case CAST($2 AS text) when 'grant' then CAST($3 AS numeric) when 'charge' then -CAST($3 AS numeric) else 0 end,
      case CAST($2 AS text) when 'grant' then 0 when 'reserve' then CAST($3 AS numeric) else -CAST($3 AS numeric) end,
      CAST($4 AS uuid), CAST($5 AS uuid), CAST($6 AS text), CAST($7 AS text), CAST($8 AS text))`;

/**
 * THE definition of a charge, for every caller (jobs' completions, a skill execution's hold):
 * the INSERT of `charge` rows for `source`, a query or CTE with columns tenant_id, job_id,
 * item_id, ref (text: what the key names), amount, actor, reason. It returns tenant_id, job_id
 * and amount of each row written (none when its key is already there).
 *
 * Items of a job: one row per job. A single item's is keyed `charge:<item id>` with `item_id`;
 * several items of one job (a batch completion) share ONE row with their ids in `item_ids` (id
 * order), the sum as `amount` and the key `charge:<first id>..<last id>`. The caller guarantees
 * an item is in one source once and is charged once (its move to done is in the same statement).
 * Rows without a job (a direct skill execution's hold, ref `hold:<id>`) are one row each, keyed
 * `charge:<ref>`; their caller applies them to the balance row in the same statement
 * (`captureHold`), where a job's wait for its settlement.
 *
 * Called in one statement with the work it pays for, so it needs no begin and commit round trips.
 */
export const chargeRowsFrom = (source: string): string => `insert into credit_ledger
      (tenant_id, kind, amount, balance_delta, reserved_delta, job_id, item_id, item_ids, idempotency_key, reason, actor)
    select g.tenant_id, 'charge', g.amount, -g.amount, -g.amount, g.job_id,
      case when g.n = 1 then g.ids[1] end,
      case when g.n > 1 then g.ids end,
      'charge:' || g.refs[1] || case when g.n > 1 then '..' || g.refs[g.n] else '' end,
      g.reason, g.actor
    from (
      select s.tenant_id, s.job_id, s.actor, s.reason, sum(s.amount) as amount, CAST(count(*) AS integer) as n,
        array_agg(s.item_id order by s.item_id, s.ref) as ids, array_agg(s.ref order by s.item_id, s.ref) as refs
      from ${source} s
      group by s.tenant_id, s.job_id, s.actor, s.reason, case when s.job_id is null then s.ref end
    ) g
    on conflict (idempotency_key) do nothing
    returning tenant_id, job_id, amount`;

/**
 * A charge of a movement that settles at once (a direct execution's hold, a workflow run's op):
 * chargeRowsFrom(`source`) and its rows applied to the balance row (balance and reserve both
 * drop by the amount, as `applyNow` does for a charge), as two CTEs to splice into the caller's
 * `with`: `<name>` (the ledger rows written: tenant_id, job_id, amount; none when the key is
 * there already, and then nothing is applied) and `<name>_applied` (one row per balance row
 * updated: 0 means the tenant has no balance row, which a caller that reserved first never sees).
 * One statement with the work it pays for: no begin and commit round trips.
 *
 * @example
 *   `with h as (...), ${chargeAppliedFrom("(select ... from h)", "c")} select (select count(*) from c_applied) as updated`
 */
export const chargeAppliedFrom = (source: string, name: string): string => `${name} as (
      ${chargeRowsFrom(source)}
    ), ${name}_applied as (
      update credit_balances b set balance = b.balance - g.amount, reserved = b.reserved - g.amount, updated_at = now()
      from ${name} g where b.tenant_id = g.tenant_id
      returning 1
    )`;

/** One item's charge as a source for chargeRowsFrom: $1 tenant, $2 job, $3 item, $4 amount, $5 actor. */
export const chargeItem = /* @__PURE__ */ statement(() =>
  chargeRowsFrom(`(select CAST($1 AS uuid) as tenant_id, CAST($2 AS uuid) as job_id, CAST($3 AS uuid) as item_id,
      CAST($3 AS text) as ref, CAST($4 AS numeric) as amount, CAST($5 AS text) as actor, CAST(null AS text) as reason)`),
);

/**
 * A hold, in one statement (one round trip, no begin and commit): the conditional reservation on
 * the balance row (as `reserve`), the hold and its `reserve:hold:<id>` ledger row. $1 tenant, $2
 * amount, $3 reason, $4 expiry, $5 actor. `id` null: refused, nothing written, and `available`
 * is what the row had (the statement's snapshot, before any change of its own); with an id,
 * `available` is not meaningful.
 */
export const holdCredits = /* @__PURE__ */ statement(
  () => `with b as (
      update credit_balances set reserved = reserved + CAST($2 AS numeric), updated_at = now()
      where tenant_id = CAST($1 AS uuid) and balance - reserved >= CAST($2 AS numeric)
      returning tenant_id
    ), h as (
      insert into credit_holds (tenant_id, amount, reason, expires_at)
      select b.tenant_id, CAST($2 AS numeric), CAST($3 AS text), CAST($4 AS timestamptz) from b
      returning id, tenant_id
    ), l as (
      insert into credit_ledger (tenant_id, kind, amount, balance_delta, reserved_delta, idempotency_key, reason, actor)
      select h.tenant_id, 'reserve', CAST($2 AS numeric), 0, CAST($2 AS numeric),
        'reserve:hold:' || CAST(h.id AS text), CAST($3 AS text), CAST($5 AS text)
      from h
      returning 1
    )
    select (select id from h) as id, (select count(*) from l) as ledger_rows,
      coalesce((select balance - reserved from credit_balances where tenant_id = CAST($1 AS uuid)), 0) as available`,
);

/**
 * A hold captured: it goes, its `charge:hold:<id>` row is written (chargeRowsFrom) and applied to
 * the balance row, in one statement. $1 hold, $2 tenant, $3 actor. `charged` null: no such hold
 * (captured or released already).
 */
export const captureHold = /* @__PURE__ */ statement(
  () => `with h as (
      delete from credit_holds where id = CAST($1 AS uuid) and tenant_id = CAST($2 AS uuid)
      returning tenant_id, amount, reason
    ), ${chargeAppliedFrom(
      `(select h.tenant_id, CAST(null AS uuid) as job_id, CAST(null AS uuid) as item_id,
          'hold:' || CAST(CAST($1 AS uuid) AS text) as ref, h.amount, CAST($3 AS text) as actor, h.reason from h)`,
      "c",
    )}
    select (select amount from c) as charged, (select count(*) from c_applied) as updated`,
);

/**
 * A hold released (the execution failed, or its caller died): it goes, its `release:hold:<id>`
 * row is written and applied to the balance row, in one statement. $1 hold, $2 tenant, $3 actor.
 */
export const releaseHold = /* @__PURE__ */ statement(
  () => `with h as (
      delete from credit_holds where id = CAST($1 AS uuid) and tenant_id = CAST($2 AS uuid)
      returning tenant_id, amount, reason
    ), r as (
      insert into credit_ledger (tenant_id, kind, amount, balance_delta, reserved_delta, idempotency_key, reason, actor)
      select h.tenant_id, 'release', h.amount, 0, -h.amount, 'release:hold:' || CAST(CAST($1 AS uuid) AS text), h.reason,
        CAST($3 AS text)
      from h
      on conflict (idempotency_key) do nothing
      returning tenant_id, amount
    ), u as (
      update credit_balances b set reserved = b.reserved - r.amount, updated_at = now()
      from r where b.tenant_id = r.tenant_id
      returning 1
    )
    select (select amount from r) as released, (select count(*) from u) as updated`,
);

/** Holds past their expiry ($1 now), oldest first, at most $2, skipping those being settled. */
export const expiredHolds = `select id, tenant_id from credit_holds where expires_at < CAST($1 AS timestamptz)
    order by expires_at limit $2 for update skip locked`;

/** The one conditional UPDATE of a reservation: no row updated means not enough available. */
export const reserve = `update credit_balances set reserved = reserved + CAST($2 AS numeric), updated_at = now()
    where tenant_id = CAST($1 AS uuid) and balance - reserved >= CAST($2 AS numeric)
    returning balance, reserved`;

/**
 * A movement of a run that settles as it goes (runs.ts), applied at once: $2 added to balance,
 * $3 to reserved, only while available >= $4 (a reserve's amount; -infinity for the others).
 */
export const applyNow = `update credit_balances set balance = balance + CAST($2 AS numeric),
    reserved = reserved + CAST($3 AS numeric), updated_at = now()
  where tenant_id = CAST($1 AS uuid) and balance - reserved >= CAST($4 AS numeric)
  returning balance, reserved`;

/** What the row has available (0 without a row): the figure a refused reservation names. */
export const available = `select coalesce((select balance - reserved from credit_balances where tenant_id = CAST($1 AS uuid)), 0)
    as available`;

/** A ledger row; a duplicate idempotency key is an error (grant, reserve: keys are fresh). */
export const insertLedger = /* @__PURE__ */ statement(() => `${insertLedgerInto} returning id`);

/** A ledger row, or nothing when its idempotency key is already there (charge, release, refund). */
export const insertLedgerOnce = /* @__PURE__ */ statement(
  () => `${insertLedgerInto} on conflict (idempotency_key) do nothing returning id`,
);

/** A cancellation's refund, applied at once (a job is cancelled once). */
export const refund = `update credit_balances set reserved = reserved - CAST($2 AS numeric), updated_at = now()
    where tenant_id = CAST($1 AS uuid) returning balance, reserved`;

/**
 * Finalisation: the job's charges and releases applied to the row in one statement. The caller
 * holds the job row lock, and every item is finished, so no charge of this job arrives later.
 */
export const settle = `with s as (
      select coalesce(sum(amount) filter (where kind = 'charge'), 0) as charged,
        coalesce(sum(amount) filter (where kind = 'release'), 0) as released
      from credit_ledger where job_id = CAST($2 AS uuid) and tenant_id = CAST($1 AS uuid) and kind in ('charge', 'release')
    ), u as (
      update credit_balances b
      set balance = b.balance - s.charged, reserved = b.reserved - s.charged - s.released, updated_at = now()
      from s where b.tenant_id = CAST($1 AS uuid) and (s.charged > 0 or s.released > 0)
      returning 1
    )
    select s.charged, s.released, (select count(*) from u) as updated from s`;

/** Jobs' credits by kind (tenant-scoped when $2 is given), one row per job that has ledger rows. */
export const jobsCredits = `select job_id,
      coalesce(sum(amount) filter (where kind = 'reserve'), 0) as reserved,
      coalesce(sum(amount) filter (where kind = 'charge'), 0) as charged,
      coalesce(sum(amount) filter (where kind = 'release'), 0) as released,
      coalesce(sum(amount) filter (where kind = 'refund'), 0) as refunded
    from credit_ledger where job_id = any(CAST($1 AS uuid[])) and (CAST($2 AS uuid) is null or tenant_id = CAST($2 AS uuid))
    group by job_id`;

/** A grant: the row created or credited. */
export const grant = `insert into credit_balances (tenant_id, balance) values (CAST($1 AS uuid), CAST($2 AS numeric))
    on conflict (tenant_id) do update set balance = credit_balances.balance + excluded.balance, updated_at = now()
    returning balance, reserved`;

/**
 * Live figures: the row, minus the charges and releases of the tenant's unsettled jobs (already
 * in the ledger, not yet in the row). The jobs are found through jobs_unsettled_idx or the
 * tenant's index, their ledger rows through credit_ledger_job_idx alone: a job's rows are its
 * tenant's, and a condition on l.tenant_id made the planner AND in the tenant's whole ledger.
 */
export const live = `select coalesce(b.balance, 0) - u.charged as balance,
      coalesce(b.reserved, 0) - u.charged - u.released as reserved
    from (select CAST($1 AS uuid) as tenant_id) t
    left join credit_balances b on b.tenant_id = t.tenant_id
    cross join lateral (
      select coalesce(sum(l.amount) filter (where l.kind = 'charge'), 0) as charged,
        coalesce(sum(l.amount) filter (where l.kind = 'release'), 0) as released
      from jobs j join credit_ledger l on l.job_id = j.id
      where j.tenant_id = t.tenant_id and j.settled_at is null and l.kind in ('charge', 'release')
    ) u`;

/** The ledger's wire columns (LedgerEntry). */
export const ledgerColumns = `id, tenant_id, kind, amount, balance_delta, reserved_delta, job_id, item_id, item_ids, reason,
  actor, ${isoUtc("created_at")} as created_at`;

export interface LedgerFilters {
  tenantId: string;
  kind?: string | undefined;
  jobId?: string | undefined;
  /** Rows older than this id (the previous page's last). */
  beforeId?: number | undefined;
  limit: number;
}

/** One page of the tenant's ledger, newest first; only the filters given become conditions. */
export function ledgerPageSql(f: LedgerFilters): { text: string; params: unknown[] } {
  const params: unknown[] = [f.tenantId];
  const where = ["tenant_id = CAST($1 AS uuid)"];
  const add = (cond: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(cond(`$${params.length}`));
  };
  if (f.kind !== undefined) add((p) => `kind = CAST(${p} AS text)`, f.kind);
  if (f.jobId !== undefined) add((p) => `job_id = CAST(${p} AS uuid)`, f.jobId);
  if (f.beforeId !== undefined) add((p) => `id < CAST(${p} AS bigint)`, f.beforeId);
  params.push(f.limit);
  return {
    text: `select ${ledgerColumns} from credit_ledger where ${where.join(" and ")} order by id desc limit $${params.length}`,
    params,
  };
}

/** Figures as pg hands them over: numeric as text. */
export interface FiguresRow {
  balance: string;
  reserved: string;
}

export interface LedgerRow {
  id: number;
  tenant_id: string;
  kind: "grant" | "reserve" | "charge" | "release" | "refund";
  amount: string;
  balance_delta: string;
  reserved_delta: string;
  job_id: string | null;
  item_id: string | null;
  /** The items of a charge for several items of one job (item_id is then null). */
  item_ids: string[] | null;
  reason: string | null;
  actor: string;
  created_at: string;
}

/** A numeric's text as a JS number (4 decimals and at most 1e14 are exact enough for a double). */
export const toAmount = (v: string | number): number => (typeof v === "number" ? v : Number.parseFloat(v));
