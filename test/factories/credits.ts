/**
 * Credits for tests: `grantCredits(tenantId, amount)` grants as the system actor `system:test`;
 * `assertCreditInvariants(tenantId)` checks the ledger's invariants (call it after every scenario);
 * `insertBareJob` writes a job and its items with plain SQL, for tests below the jobs domain.
 */
import { expect } from "vitest";
import { withContext } from "../../core/context.ts";
import type { CreditsReply } from "../../core/credits/index.ts";
import * as Credits from "../../core/credits/index.ts";
import { query } from "../../core/platform/db/index.ts";

const asSystem = <T>(fn: () => Promise<T>) =>
  withContext({ requestId: "factory", correlationId: "factory", actor: { type: "system", name: "test" } }, fn);

/** Grant `amount` credits to the tenant (a `grant` ledger row by `system:test`). */
export function grantCredits(tenantId: string, amount: number, reason = "test grant"): Promise<CreditsReply> {
  return asSystem(() => Credits.grant({ tenant: tenantId, amount, reason }));
}

/**
 * A running job of `items` items at `creditsPerItem`, inserted directly (no reservation, no
 * history): what the ledger's foreign keys need.
 */
export async function insertBareJob(
  tenantId: string,
  o: { items?: number; creditsPerItem?: number; task?: string } = {},
): Promise<{ jobId: string; itemIds: string[] }> {
  const items = o.items ?? 1;
  const per = o.creditsPerItem ?? 1;
  const { rows } = await query<{ id: string }>(
    `insert into jobs (tenant_id, task, parallelism, credits_per_item, max_attempts, item_timeout_s, items_total,
       credits_reserved, created_by)
     values ($1, $2, 10, $3::numeric, 3, 60, $4::int, $3::numeric * $4::int, 'system:test') returning id`,
    [tenantId, o.task ?? "external", per, items],
  );
  const jobId = (rows[0] as { id: string }).id;
  const res = await query<{ id: string }>(
    `insert into job_items (job_id, tenant_id, idx, input, credits)
     select $1, $2, i, CAST('{}' AS jsonb), $4::numeric from generate_series(0, $3::int - 1) i order by i returning id`,
    [jobId, tenantId, items, per],
  );
  return { jobId, itemIds: res.rows.map((r) => r.id) };
}

const num = (v: string | null | undefined) => Number.parseFloat(v ?? "0");

/**
 * The credits invariants of one tenant, as vitest expectations:
 *   - the balance row: balance >= 0, reserved >= 0, reserved <= balance;
 *   - the row equals the sum of the ledger rows already applied to it (every grant, reserve and
 *     refund, every row of a direct execution's hold; charges and releases of settled jobs
 *     only): balance_delta and reserved_delta;
 *   - every hold: reserve = charge + release once it is gone, and an open hold's reserve alone;
 *   - every settled job: reserve = charge + release + refund;
 *   - no job: charge + release + refund > reserve;
 *   - every ledger row of a job has the job's tenant.
 */
export async function assertCreditInvariants(tenantId: string): Promise<void> {
  const { rows: bal } = await query<{ balance: string; reserved: string }>(
    "select balance, reserved from credit_balances where tenant_id = $1",
    [tenantId],
  );
  const balance = num(bal[0]?.balance);
  const reserved = num(bal[0]?.reserved);
  expect(balance, "balance >= 0").toBeGreaterThanOrEqual(0);
  expect(reserved, "reserved >= 0").toBeGreaterThanOrEqual(0);
  expect(reserved, "reserved <= balance").toBeLessThanOrEqual(balance);

  const { rows: applied } = await query<{ balance: string | null; reserved: string | null }>(
    `select sum(l.balance_delta) as balance, sum(l.reserved_delta) as reserved
     from credit_ledger l left join jobs j on j.id = l.job_id
     where l.tenant_id = $1 and (l.kind in ('grant', 'reserve', 'refund') or l.job_id is null or j.settled_at is not null)`,
    [tenantId],
  );
  expect({ balance, reserved }, "the balance row = the sum of the ledger rows applied to it").toEqual({
    balance: num(applied[0]?.balance),
    reserved: num(applied[0]?.reserved),
  });

  const { rows: jobs } = await query<{
    job_id: string;
    settled: boolean;
    reserve: string;
    spent: string;
  }>(
    `select j.id as job_id, j.settled_at is not null as settled,
       coalesce(sum(l.amount) filter (where l.kind = 'reserve'), 0) as reserve,
       coalesce(sum(l.amount) filter (where l.kind in ('charge', 'release', 'refund')), 0) as spent
     from jobs j left join credit_ledger l on l.job_id = j.id
     where j.tenant_id = $1 group by j.id`,
    [tenantId],
  );
  const over = jobs.filter((j) => num(j.spent) > num(j.reserve));
  expect(over, "no job charged, released and refunded more than it reserved").toEqual([]);
  const unbalanced = jobs.filter((j) => j.settled && num(j.spent) !== num(j.reserve));
  expect(unbalanced, "every settled job: reserve = charge + release + refund").toEqual([]);

  const { rows: holds } = await query<{ hold: string; open: boolean; reserve: string; spent: string }>(
    `select substring(l.idempotency_key from '^[a-z]+:hold:(.*)$') as hold,
       bool_or(h.id is not null) as open,
       coalesce(sum(l.amount) filter (where l.kind = 'reserve'), 0) as reserve,
       coalesce(sum(l.amount) filter (where l.kind in ('charge', 'release')), 0) as spent
     from credit_ledger l left join credit_holds h on CAST(h.id AS text) = substring(l.idempotency_key from '^[a-z]+:hold:(.*)$')
     where l.tenant_id = $1 and l.idempotency_key like '%:hold:%' group by 1`,
    [tenantId],
  );
  const badHolds = holds.filter((h) => num(h.spent) !== (h.open ? 0 : num(h.reserve)));
  expect(badHolds, "every hold: reserve = charge + release once settled, nothing spent while open").toEqual([]);

  const { rows: foreign } = await query<{ id: number }>(
    `select l.id from credit_ledger l join jobs j on j.id = l.job_id
     where (l.tenant_id = $1 or j.tenant_id = $1) and l.tenant_id <> j.tenant_id`,
    [tenantId],
  );
  expect(foreign, "a job's ledger rows are its tenant's").toEqual([]);
}

/**
 * A job's ledger by kind: `n` movements (a batch's one charge row counts each of its items, as
 * one row per item would) and the amount.
 */
export async function ledgerOf(jobId: string): Promise<Record<string, { n: number; amount: number }>> {
  const { rows } = await query<{ kind: string; n: number; amount: number }>(
    `select kind, sum(coalesce(cardinality(item_ids), 1))::int as n, sum(amount)::float8 as amount
     from credit_ledger where job_id = $1 group by kind`,
    [jobId],
  );
  return Object.fromEntries(rows.map((r) => [r.kind, { n: r.n, amount: r.amount }]));
}
