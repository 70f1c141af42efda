/**
 * The database of `npm run bench:jobs`: created fresh (`aos_bench_jobs_<pid>`), migrated with
 * the project's migrator, then seeded by Postgres itself (generate_series) with finished work on
 * both sides, so neither path runs against empty tables:
 * - AOS: per tenant one settled job of finished items (`done`, with result and timings) and its
 *   ledger (grant, reserve, one charge per item), the balance row settled to match;
 * - baseline: its own minimal tables (bench_items, bench_balances, bench_ledger), same counts.
 */
import pg from "pg";
import { benchDb } from "./bench-db.ts";

const db = benchDb("jobs");
export const BENCH_DB = db.name;

/**
 * The baseline's tables: what a hand-written ledger needs and nothing more. The ledger keeps
 * a unique idempotency key, as any ledger that survives redelivery must (AOS's has one too).
 */
const baselineSchema = `
create table bench_balances (tenant_id int primary key, balance numeric(18, 4) not null check (balance >= 0));
create table bench_items (
  id bigint generated always as identity primary key,
  tenant_id int not null,
  status text not null default 'pending',
  claimed_by text,
  lease_until timestamptz,
  input jsonb not null,
  done_at timestamptz
);
create index bench_items_pending_idx on bench_items (tenant_id, id) where status = 'pending';
create table bench_ledger (
  id bigint generated always as identity primary key,
  tenant_id int not null,
  item_id bigint not null,
  amount numeric(18, 4) not null,
  idempotency_key text not null unique,
  created_at timestamptz not null default now()
);`;

export const createBenchDb = (baseUrl: string): Promise<string> => db.create(baseUrl, baselineSchema);
export const dropBenchDb = (baseUrl: string): Promise<void> => db.drop(baseUrl);

/** One finished job of `$2` items for tenant `$1`, its ledger rows, the balance row settled. */
const seedAosJob = `
with job as (
  insert into jobs (tenant_id, task, status, parallelism, credits_per_item, max_attempts, item_timeout_s,
                    items_total, credits_reserved, created_by, created_at, finished_at, settled_at)
  values ($1, 'external', 'completed', 50, 1, 3, 60, CAST($2 AS integer), CAST($2 AS integer), 'system:bench', now() - interval '1 day',
          now() - interval '23 hours', now() - interval '23 hours')
  returning id
), items as (
  insert into job_items (job_id, tenant_id, idx, input, status, attempt, claimed_by, result, claimed_at,
                         finished_at, duration_ms, credits)
  select job.id, $1, i, jsonb_build_object('n', i), 'done', 1, 'seed-' || (i % 50),
         jsonb_build_object('ok', true), now() - interval '1 day', now() - interval '1 day' + interval '5 ms', 5, 1
  from job, generate_series(0, CAST($2 AS integer) - 1) as i
  returning id, job_id
), reserve as (
  insert into credit_ledger (tenant_id, kind, amount, balance_delta, reserved_delta, job_id, idempotency_key, actor)
  select $1, 'reserve', CAST($2 AS integer), 0, CAST($2 AS integer), job.id, 'reserve:' || job.id, 'system:bench' from job
)
insert into credit_ledger (tenant_id, kind, amount, balance_delta, reserved_delta, job_id, item_id, idempotency_key, actor)
select $1, 'charge', 1, -1, -1, items.job_id, items.id, 'charge:' || items.id, 'system:bench' from items`;

/** The baseline's finished items of tenant `$1` (`$2` of them) with their ledger rows. */
const seedBaseline = `
with items as (
  insert into bench_items (tenant_id, status, claimed_by, input, done_at)
  select $1, 'done', 'seed-' || (i % 50), jsonb_build_object('n', i), now() - interval '1 day'
  from generate_series(0, $2 - 1) as i
  returning id
)
insert into bench_ledger (tenant_id, item_id, amount, idempotency_key)
select $1, id, 1, 'charge:' || id from items`;

/**
 * Seed `finished` items split over the AOS tenants (credits granted through core beforehand)
 * and the same over baseline tenants 0..n-1, whose balance rows get `credits`.
 */
export async function seedFinished(url: string, aosTenants: string[], finished: number, credits: number) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const per = (t: number) => Math.floor(finished / aosTenants.length) + (t < finished % aosTenants.length ? 1 : 0);
    for (const [t, tenantId] of aosTenants.entries()) {
      if (per(t) === 0) continue;
      await c.query(seedAosJob, [tenantId, per(t)]);
      // The job is settled: its charges are in the balance row, as finalisation leaves them.
      await c.query("update credit_balances set balance = balance - $2 where tenant_id = $1", [tenantId, per(t)]);
      await c.query(seedBaseline, [t, per(t)]);
      await c.query("insert into bench_balances (tenant_id, balance) values ($1, $2)", [t, credits]);
    }
    await c.query("vacuum (analyze) job_items, jobs, credit_ledger, credit_balances, bench_items, bench_ledger");
  } finally {
    await c.end();
  }
}
