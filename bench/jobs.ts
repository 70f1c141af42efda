/**
 * `npm run bench:jobs`: AOS's claim / complete / charge path against a bare-SQL ledger, in one
 * process, on one fresh database (aos_bench_jobs_<pid>, migrated), 50 concurrent workers each.
 *
 * Seeded first: 100,000 finished items on each side (AOS: settled jobs with their ledger rows;
 * baseline: its own minimal tables), 10 tenants. Then, for each of --runs rounds, every variant
 * works 20,000 fresh pending items (made untimed: Jobs.spawn for AOS, an INSERT for the
 * baseline; then VACUUM ANALYZE and CHECKPOINT so each variant starts from the same state):
 *   a       bare SQL, 10 tenants: per item one transaction (claim one with SKIP LOCKED, debit the
 *           tenant's balance row, insert a ledger row, mark done);
 *   b       AOS, 10 tenants (10 external jobs): Jobs.claim (max_items 1) + Jobs.complete per item;
 *   c       AOS, 1 tenant (one job of all the items);
 *   d       a with one tenant: the naive per-item debit, every worker on one balance row;
 *   e_bare  bare SQL batched: claim 25 per transaction, debit once, 25 ledger rows, mark done;
 *   e_aos   AOS batched: Jobs.claim max_items 25, then Jobs.completeMany of the 25 (one statement);
 *   e_lease bare SQL batched with a lease (information): the claim of 25 one statement that marks
 *           them claimed, the debit, ledger rows and done a second transaction — two writes per
 *           item, as any worker that holds items while it works (and as AOS) needs.
 * Worker w works tenant (or job) w % tenants on both sides. Every AOS run is verified (all done,
 * settled, charged exactly) and every baseline run checked (nothing pending, one ledger row and
 * one debit per item): a fast wrong answer fails the bench.
 * Targets (best of --runs rates; exit 1 when one is missed, naming it):
 *   b/a >= 1.0, c/b >= 0.9, e_aos/e_bare >= 0.6; d/a, c/d, e_aos/e_lease and e_lease/e_bare are
 *   printed for information.
 * Each run also prints CPU seconds (node, every postgres process of the machine) and where the
 * bench database's sessions were (pg_stat_activity samples): CPU, a lock wait, a WAL flush, or
 * idle in a transaction waiting for node.
 *
 * The baseline has one connection per client (50); AOS runs on its own pool as a deployed process
 * does, DB_POOL_MAX connections (10 unless set; --pool N), its 50 workers' calls queueing for one.
 *
 * Flags: --items 20000  --finished 100000  --workers 50  --runs 3  --batch 25  --pool N  --only a,b  --keep
 * A smoke run: --items 2000 --runs 1. The database is dropped at the end, and on Ctrl-C.
 */
import { cpus } from "node:os";
import pg from "pg";
import { config, setConfig } from "../core/config.ts";
import { closePool } from "../core/platform/db/index.ts";
import { closeRedis } from "../core/platform/redis.ts";
import { benchBaseUrl } from "./bench-db.ts";
import { postgresCpu } from "./export-procs.ts";
import { type BenchTenant, makeTenants, runAos, spawnJobs, verifyAos, warmPool } from "./jobs-aos.ts";
import { addPending, barePool, bareTotals, runBare } from "./jobs-bare.ts";
import { createBenchDb, dropBenchDb, seedFinished } from "./jobs-db.ts";
import {
  fmt,
  type Measured,
  report,
  VARIANTS,
  type Variant,
  type VariantId,
  waitLine,
  waitSampler,
} from "./jobs-report.ts";
import { load, runBench, say, verdict } from "./run.ts";

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const items = flag("--items", 20_000);
const finished = flag("--finished", 100_000);
const workers = flag("--workers", 50);
const runs = flag("--runs", 3);
const batch = flag("--batch", 25);
const keep = args.includes("--keep");
/** --pool N: AOS's DB_POOL_MAX for the run (default: its configured value, 10 unless set). */
const poolArg = flag("--pool", 0);
/** --only b,c: just these variants (profiling one side); the ratios need both of a pair. */
const onlyArg = args.indexOf("--only") >= 0 ? args[args.indexOf("--only") + 1] : undefined;
const only = onlyArg?.split(",");
if (only?.some((id) => !VARIANTS.some((v) => v.id === id))) {
  console.error(`--only: a comma-separated list of ${VARIANTS.map((v) => v.id).join(", ")}`);
  process.exit(2);
}
const TENANTS = 10;
const COST = 1;
for (const [name, v, min] of [
  ["--items", items, TENANTS],
  ["--finished", finished, 0],
  ["--workers", workers, TENANTS],
  ["--runs", runs, 1],
  ["--batch", batch, 2],
  ["--pool", poolArg, 0],
] as const) {
  if (!Number.isInteger(v) || v < min) {
    console.error(`${name}: a whole number >= ${min}`);
    process.exit(2);
  }
}

let baseUrl = "";
/** Connections closed and the bench database dropped (runBench calls it once). */
async function cleanup(): Promise<void> {
  await Promise.allSettled([closePool(), closeRedis()]);
  if (baseUrl && !keep) await dropBenchDb(baseUrl).catch((e) => console.error(`could not drop: ${e.message}`));
}

async function settings(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const names = ["server_version", "max_connections", "shared_buffers", "synchronous_commit", "fsync"];
    const got: string[] = [];
    for (const n of names) got.push(`${n} ${(await c.query(`show ${n}`)).rows[0][n]}`);
    return got.join(", ");
  } finally {
    await c.end();
  }
}

/** Untimed: vacuum (dead tuples of the previous variant gone, fresh statistics) and a checkpoint. */
async function settle(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      "vacuum (analyze) job_items, jobs, credit_ledger, credit_balances, bench_items, bench_ledger, bench_balances",
    );
    await c.query("checkpoint");
  } finally {
    await c.end();
  }
}

/** Time `fn` with the CPU of node and postgres and the sessions' wait samples. */
async function measure(url: string, fn: () => Promise<number>): Promise<Measured> {
  const sampler = await waitSampler(url);
  const pgCpu = postgresCpu();
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const done = await fn();
  const seconds = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const m = { seconds, nodeCpuS: (cpu.user + cpu.system) / 1e6, pgCpuS: pgCpu.stop(), waits: await sampler.stop() };
  if (done !== items) throw new Error(`${done} items done, ${items} expected`);
  return m;
}

async function runVariant(url: string, v: Variant, tenants: BenchTenant[]): Promise<Measured> {
  const n = v.tenants === "all" ? TENANTS : 1;
  const size = v.batched ? batch : 1;
  if (v.side === "bare") {
    await addPending(url, n, items);
    await settle(url);
    // Core's pool closed: the two pools never hold connections at the same time.
    await closePool();
    const pool = await barePool(url, workers);
    try {
      const before = await bareTotals(pool);
      const m = await measure(url, () =>
        runBare(pool, { workers, tenants: n, batch: size, cost: COST, lease: v.lease ?? false }),
      );
      const after = await bareTotals(pool);
      if (
        after.pending !== 0 ||
        after.ledger - before.ledger !== items ||
        before.balance - after.balance !== items * COST
      ) {
        throw new Error(`bare run ${v.id} is wrong: ${JSON.stringify({ before, after })}`);
      }
      return m;
    } finally {
      await pool.end();
    }
  }
  const jobs = await spawnJobs(tenants.slice(0, n), items, COST);
  await settle(url);
  await warmPool(config().dbPoolMax);
  const m = await measure(url, () => runAos(jobs, workers, size));
  await verifyAos(jobs, COST);
  await closePool();
  return m;
}

async function main(): Promise<number> {
  baseUrl = benchBaseUrl();
  const url = await createBenchDb(baseUrl);
  console.log(`jobs bench: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${load()}`);
  say(`Postgres: ${await settings(url)}`);
  say(
    `${fmt(items)} items per variant, ${fmt(finished)} finished items seeded per side, ${workers} workers, ${TENANTS} tenants, batches of ${batch}, best of ${runs}`,
  );
  // AOS runs on its own pool, as a deployed process does: DB_POOL_MAX (10 by default) connections
  // for its 50 workers, whose calls queue for one as concurrent requests to one process would.
  setConfig({
    STAGE: "bench",
    LOG_LEVEL: "silent",
    DATABASE_URL: url,
    ...(poolArg ? { DB_POOL_MAX: String(poolArg) } : {}),
  });
  say(
    `AOS's pool: ${config().dbPoolMax} connections (DB_POOL_MAX${poolArg ? ", --pool" : ""}); the baseline's: one per client`,
  );
  const t = performance.now();
  const credits = finished + items * runs * 3 + 1_000;
  const tenants = await makeTenants(TENANTS, credits);
  await seedFinished(
    url,
    tenants.map((x) => x.id),
    finished,
    credits,
  );
  say(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s (vacuum analyze included)`);

  const results = new Map<VariantId, Measured[]>();
  for (let r = 1; r <= runs; r++) {
    console.log(`\nround ${r}/${runs} (${load()})`);
    for (const v of VARIANTS.filter((x) => !only || only.includes(x.id))) {
      const m = await runVariant(url, v, tenants);
      results.set(v.id, [...(results.get(v.id) ?? []), m]);
      say(
        `${v.id.padEnd(6)} ${v.name.padEnd(42)} ${m.seconds.toFixed(2).padStart(6)} s  ${fmt(items / m.seconds).padStart(6)} items/s  ` +
          `CPU s node ${m.nodeCpuS.toFixed(1)}, postgres ${m.pgCpuS.toFixed(1)}; sessions: ${waitLine(m.waits)}`,
      );
    }
  }
  console.log(`\nafter the runs: ${load()}`);
  const missed = report(items, results);
  return verdict(missed);
}

await runBench(main, cleanup);
