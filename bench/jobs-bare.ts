/**
 * The bare-SQL baselines of `npm run bench:jobs`: what a hand-written ledger does per item or per
 * batch, on its own minimal tables (bench/jobs-db.ts), with a pg Pool of one connection per
 * worker. Worker `w` works tenant `w % tenants`, as AOS's workers each work one tenant's job.
 *
 * One transaction per claim: pick the tenant's next pending items with FOR UPDATE SKIP LOCKED,
 * debit the tenant's balance row (the naive per-item debit: every transaction updates it),
 * insert one ledger row per item, mark the items done. With `lease`, the like-for-like
 * comparison for a worker that holds items while it works: the claim is one statement that
 * marks them claimed with a lease, the rest a second transaction (two writes per item, as AOS).
 */
import pg from "pg";

const sql = {
  claim: `select id from bench_items where tenant_id = $1 and status = 'pending' order by id limit $2
    for update skip locked`,
  debit: "update bench_balances set balance = balance - $2 where tenant_id = $1",
  ledgerOne: `insert into bench_ledger (tenant_id, item_id, amount, idempotency_key)
    values ($1, $2, $3, $4)`,
  ledgerMany: `insert into bench_ledger (tenant_id, item_id, amount, idempotency_key)
    select $1, id, $3, 'charge:' || id from unnest(CAST($2 AS bigint[])) as id`,
  doneOne: "update bench_items set status = 'done', claimed_by = $2, done_at = now() where id = $1",
  doneMany:
    "update bench_items set status = 'done', claimed_by = $2, done_at = now() where id = any(CAST($1 AS bigint[]))",
  /** With a lease: the claim alone, one statement (as a worker that then goes off to work). */
  leaseMany: `update bench_items set status = 'claimed', claimed_by = $3, lease_until = now() + interval '60 seconds'
    where id in (select id from bench_items where tenant_id = $1 and status = 'pending' order by id limit $2
      for update skip locked)
    returning id`,
  /** ... and the finish, in a transaction of its own, only of items still held. */
  leasedDone: `update bench_items set status = 'done', lease_until = null, done_at = now()
    where id = any(CAST($1 AS bigint[])) and status = 'claimed' and claimed_by = $2`,
};

/** `items` pending items spread round-robin over tenants 0..tenants-1 (untimed preparation). */
export async function addPending(url: string, tenants: number, items: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `insert into bench_items (tenant_id, input)
       select i % CAST($1 AS integer), jsonb_build_object('n', i) from generate_series(0, CAST($2 AS integer) - 1) as i`,
      [tenants, items],
    );
  } finally {
    await c.end();
  }
}

export interface BareRun {
  workers: number;
  tenants: number;
  /** Items per transaction: 1 is the per-item path. */
  batch: number;
  cost: number;
  /** Claim with a lease (one statement), then finish in a second transaction: two writes per item, as AOS. */
  lease?: boolean;
}

/** A pool of one connection per worker, every connection opened before the clock starts. */
export async function barePool(url: string, workers: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: workers, application_name: "bench-bare" });
  // An idle connection cut (the database dropped after a failure) must not crash the process.
  pool.on("error", () => {});
  const clients = await Promise.all(Array.from({ length: workers }, () => pool.connect()));
  for (const c of clients) c.release();
  return pool;
}

/** Work every pending item; returns the items done. Timed by the caller. */
export async function runBare(pool: pg.Pool, o: BareRun): Promise<number> {
  let done = 0;
  async function worker(w: number): Promise<void> {
    const tenant = w % o.tenants;
    const name = `bare-${w}`;
    for (;;) {
      if (o.lease) {
        const n = await leasedBatch(pool, tenant, name, o);
        if (n === 0) return;
        done += n;
        continue;
      }
      const c = await pool.connect();
      try {
        await c.query("begin");
        const ids = (await c.query<{ id: string }>(sql.claim, [tenant, o.batch])).rows.map((r) => r.id);
        if (!ids.length) {
          await c.query("rollback");
          return;
        }
        await c.query(sql.debit, [tenant, o.cost * ids.length]);
        if (ids.length === 1) {
          await c.query(sql.ledgerOne, [tenant, ids[0], o.cost, `charge:${ids[0]}`]);
          await c.query(sql.doneOne, [ids[0], name]);
        } else {
          await c.query(sql.ledgerMany, [tenant, ids, o.cost]);
          await c.query(sql.doneMany, [ids, name]);
        }
        await c.query("commit");
        done += ids.length;
      } catch (e) {
        await c.query("rollback").catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    }
  }
  await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  return done;
}

/** One leased batch: claimed in one statement, then debited, charged and done in a transaction. */
async function leasedBatch(pool: pg.Pool, tenant: number, name: string, o: BareRun): Promise<number> {
  const ids = (await pool.query<{ id: string }>(sql.leaseMany, [tenant, o.batch, name])).rows.map((r) => r.id);
  if (!ids.length) return 0;
  const c = await pool.connect();
  try {
    await c.query("begin");
    await c.query(sql.debit, [tenant, o.cost * ids.length]);
    await c.query(sql.ledgerMany, [tenant, ids, o.cost]);
    const { rowCount } = await c.query(sql.leasedDone, [ids, name]);
    if (rowCount !== ids.length) throw new Error(`lease lost on ${ids.length - (rowCount ?? 0)} items`);
    await c.query("commit");
    return ids.length;
  } catch (e) {
    await c.query("rollback").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/** Totals to compare before and after a run: the run must have charged each item exactly once. */
export async function bareTotals(pool: pg.Pool): Promise<{ pending: number; ledger: number; balance: number }> {
  const { rows } = await pool.query<{ pending: string; ledger: string; balance: string }>(
    `select (select count(*) from bench_items where status = 'pending') as pending,
            (select count(*) from bench_ledger) as ledger,
            (select sum(balance) from bench_balances) as balance`,
  );
  const r = rows[0] as { pending: string; ledger: string; balance: string };
  return { pending: Number(r.pending), ledger: Number(r.ledger), balance: Number(r.balance) };
}
