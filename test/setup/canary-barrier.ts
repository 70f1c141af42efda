/**
 * `n` canary runs that really start at once, whatever the machine's load: a connection of its own
 * holds an uncommitted 'running' report (the lease row), so every run's lease insert waits on it in
 * Postgres (an INSERT ... ON CONFLICT waits for a conflicting row's transaction); once all `n`
 * wait, it rolls back and they race for the lease together. Without it, a run on a loaded machine
 * could finish before another's insert was even sent, and both would run one after the other
 * (one at a time, as designed, but not the contention the test is about).
 *
 * @example
 *   const runs = await canariesAtOnce(5, () => Costsim.runCanary({ trigger: "schedule" }));
 */
import pg from "pg";
import { config } from "../../core/config.ts";

export async function canariesAtOnce<T>(n: number, run: () => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const holder = new pg.Client({ connectionString: config().databaseUrl });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query(
      `insert into costsim_canary_reports (status, trigger, requested_by, started_at, lease_until)
       values ('running', 'api', 'test barrier', now(), now() + interval '1 hour')`,
    );
    const runs = Promise.allSettled(Array.from({ length: n }, () => run()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      // pg_stat_activity is read once per transaction unless the snapshot is cleared.
      await holder.query("select pg_stat_clear_snapshot()");
      const { rows } = await holder.query<{ n: number }>(
        `select CAST(count(*) AS integer) as n from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'
            and query like 'insert into costsim_canary_reports%'`,
      );
      if ((rows[0]?.n ?? 0) >= n) break;
      if (Date.now() > deadline) {
        const seen = await holder.query(
          "select pid, usename, state, wait_event_type, wait_event, left(query, 60) as q from pg_stat_activity where datname = current_database()",
        );
        throw new Error(
          `only ${rows[0]?.n} of ${n} canary runs reached the lease insert in 15 s: ${JSON.stringify(seen.rows)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await holder.query("rollback");
    return await runs;
  } finally {
    await holder.end();
  }
}
