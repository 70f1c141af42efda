/**
 * `npm run bench:export`: the status history export against psql, in one run, on one machine.
 *
 * A dedicated database (aos_bench_export_<pid>, migrated, one tenant) is seeded with realistic rows by
 * Postgres itself (bench/export-seed.ts). For each size (default 1,000,000 then 5,000,000 rows)
 * and each export variant, psql and AOS take turns, `--runs` times each (psql, AOS, psql, AOS,
 * ...), so a change of the machine's load between runs reaches both sides alike:
 * - baseline: `psql -X -c "\copy (select <columns> from status_history where tenant_id = '<t>'
 *   order by created_at, id) to /dev/null csv"`, timed around the child process;
 * - AOS: an export row made through core (`StatusHistory.createExport`, system actor) and
 *   `StatusHistory.runExport` in a child node process that reports its own peak RSS, uploading
 *   to an S3 sink in another child (so its memory is not counted) on loopback: by default one
 *   that reads each body and throws it away, as psql writes to /dev/null (bench/export-null-s3.ts
 *   says why s3rver's own work must not count), or s3rver with `--sink s3rver`. The object's
 *   size at the sink must equal the export's.
 * The ratio is psql's best time over AOS's best, both from the same alternating runs; each pair's
 * ratio is printed too, to show the spread. The first size runs CSV gzip (level 1, as the worker
 * does), JSONL and JSONL gzip; later sizes rerun CSV gzip for the memory check.
 * Targets (exit 1 when one is missed, naming it): CSV gzip >= 0.8x the psql rate, JSONL (plain
 * and gzip) >= 0.35x, peak RSS <= 150 MB at the first size and within 10% of it at later sizes.
 * With a miss, or with --profile, each stage of the export is timed alone (bench/export-stages.ts);
 * --no-profile skips that.
 * Each run also reports the CPU seconds of Postgres (the bench database's backends and their
 * parallel workers, from /proc), the exporter and the sink: on 2 cores, their sum against the
 * wall time shows whether the export is short of CPU or waiting.
 *
 * The exporter child is bundled with SST's esbuild options and run by plain node, as a Lambda
 * runs it; --tsx runs the TypeScript through tsx instead (its loader adds ~40 MB of RSS).
 *
 * Flags: --rows 1000000,5000000   --runs 3   --sink null|s3rver   --profile | --no-profile
 *        --tsx   --keep (keep the database)
 * The database and the sink's directory are removed at the end, and on Ctrl-C.
 */

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setConfig } from "../core/config.ts";
import { withContext } from "../core/context.ts";
import { closePool, query } from "../core/platform/db/index.ts";
import { closeS3, deleteObjects, headObject } from "../core/platform/storage.ts";
import * as StatusHistory from "../core/status-history/index.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import { benchBaseUrl } from "./bench-db.ts";
import {
  childEnv,
  cpuSampler,
  type Exporter,
  exporter,
  postgresCpu,
  psqlCopy,
  runChild,
  type S3Child,
  type Sink,
  startS3Child,
  stopChildren,
} from "./export-procs.ts";
import { profile } from "./export-profile.ts";
import { fmt, misses, type Result, table, VARIANTS, type Variant } from "./export-report.ts";
import { createBenchDb, dropBenchDb, seedRows } from "./export-seed.ts";
import { load, runBench, say, verdict } from "./run.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const sizes = (flag("--rows") ?? "1000000,5000000").split(",").map(Number);
const runs = Math.max(1, Number(flag("--runs") ?? 3));
const keep = args.includes("--keep");
const forceProfile = args.includes("--profile");
const noProfile = args.includes("--no-profile");
const useTsx = args.includes("--tsx");
const sink = (flag("--sink") ?? "null") as Sink;
if (sink !== "null" && sink !== "s3rver") {
  console.error("--sink: null or s3rver");
  process.exit(2);
}
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || sizes.some((n, i) => i > 0 && n <= (sizes[i - 1] ?? 0))) {
  console.error("--rows: increasing whole numbers, e.g. 1000000,5000000");
  process.exit(2);
}

const BUCKET = "aos-bench-export";
const COLUMNS =
  "id, tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata, correlation_id, created_at";

let baseUrl = "";
let benchDb = "";
let tmp = "";
let s3: S3Child | undefined;
/** Children stopped, connections closed, files and the bench database removed (runBench calls it once). */
async function cleanup(): Promise<void> {
  stopChildren();
  await Promise.allSettled([closePool(), closeS3()]);
  await s3?.stop().catch(() => {});
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (baseUrl && !keep) await dropBenchDb(baseUrl).catch((e) => console.error(`could not drop: ${e.message}`));
}

const asBench = <T>(tenantId: string, fn: () => Promise<T>) => {
  const id = randomUUID();
  return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "bench", tenantId } }, fn);
};

/** One AOS export in a child process; the export must come out ready with every row. */
async function aosRun(x: Exporter, tenantId: string, v: Variant, rows: number, env: NodeJS.ProcessEnv) {
  const e = await asBench(tenantId, () =>
    StatusHistory.createExport({ format: v.format, gzip: v.gzip, filters: {}, tenant: undefined }),
  );
  const [pgCpu, s3Cpu] = [postgresCpu(benchDb), cpuSampler((pid) => pid === s3?.pid)];
  const r = await runChild<{ ms: number; maxRssKb: number; heapMb: number; externalMb: number; cpuS: number }>(
    x,
    "run",
    [e.id, tenantId],
    env,
  );
  const cpu = { postgres: pgCpu.stop(), exporter: r.cpuS, [`${sink} S3`]: s3Cpu.stop() };
  const done = await asBench(tenantId, () => StatusHistory.getExport(e.id));
  if (done.status !== "ready") throw new Error(`export ${e.id} ended ${done.status}: ${done.last_error}`);
  // Every row committed when it was asked for: the seed plus the history rows of earlier exports.
  const { rows: check } = await query<{ object_key: string; n: number }>(
    `select e.object_key, (select count(*) from status_history h where h.tenant_id = e.tenant_id and h.id <= e.max_id) as n
     from status_history_exports e where e.id = $1`,
    [e.id],
  );
  const { object_key: key, n } = check[0] as { object_key: string; n: number };
  if (done.row_count !== n || n < rows) throw new Error(`export ${e.id} has ${done.row_count} rows, the table ${n}`);
  const stored = await headObject(key);
  if (stored.bytes !== done.bytes)
    throw new Error(`export ${e.id} has ${done.bytes} bytes, the sink got ${stored.bytes}`);
  await deleteObjects([key, `${key}.manifest.json`]);
  return {
    s: r.ms / 1000,
    rssMb: r.maxRssKb / 1024,
    heapMb: r.heapMb,
    externalMb: r.externalMb,
    cpu,
    bytes: done.bytes ?? 0,
  };
}

const cpuLine = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(", ");

async function main(): Promise<number> {
  baseUrl = benchBaseUrl();
  const pgVersion = await (async () => {
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: baseUrl.replace(/\/[^/]*$/, "/postgres") });
    await c.connect();
    const v = (await c.query("show server_version")).rows[0].server_version as string;
    await c.end();
    return v;
  })();
  console.log(
    `export bench: node ${process.version}, ${cpus().length} cores, Postgres ${pgVersion}, sizes ${sizes.map((n) => fmt(n)).join(", ")}, psql and AOS alternating, best of ${runs} each`,
  );
  const url = await createBenchDb(baseUrl);
  benchDb = new URL(url).pathname.slice(1);
  tmp = mkdtempSync(join(tmpdir(), "aos-bench-export-"));
  s3 = await startS3Child(sink, join(tmp, "s3"), BUCKET);
  const x = await exporter({ tsx: useTsx, dir: tmp });
  const where = sink === "null" ? "bodies discarded, as psql's /dev/null" : `${tmp}/s3`;
  say(
    `database ${url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@")}, ${sink} S3 ${s3.endpoint} (child process, ${where})`,
  );
  say(`exporter: node ${x.args.join(" ")} (a child process per run)`);
  const vars = {
    STAGE: "bench",
    LOG_LEVEL: "warn",
    DATABASE_URL: url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: BUCKET,
    AWS_REGION: "us-east-1",
  };
  // No queue here: the bench runs the worker itself, so createExport's wake-up send has nowhere
  // to go (it fails after commit and is only logged; silenced in this process).
  setConfig({ ...vars, LOG_LEVEL: "silent" });
  const env = childEnv(vars);
  const tenant = await asBench("", () =>
    Tenancy.createTenant({ slug: "bench", name: "Export bench", initial_key_role: "none" }),
  );

  const results: Result[] = [];
  for (const [i, rows] of sizes.entries()) {
    console.log(`\n${fmt(rows)} rows (${load()})`);
    const seedS = await seedRows(url, tenant.id, rows, (m) => say(m));
    say(`seeded in ${seedS.toFixed(1)} s (vacuum analyze included)`);
    const select = `select ${COLUMNS} from status_history where tenant_id = '${tenant.id}' order by created_at, id`;
    for (const v of i === 0 ? VARIANTS : VARIANTS.slice(0, 1)) {
      // psql and AOS take turns, so both meet the same load.
      const base: { s: number; pgCpu: number }[] = [];
      const got: Awaited<ReturnType<typeof aosRun>>[] = [];
      for (let r = 0; r < runs; r++) {
        const pgCpu = postgresCpu(benchDb);
        const s = await psqlCopy(url, select);
        base.push({ s, pgCpu: pgCpu.stop() });
        got.push(await aosRun(x, tenant.id, v, rows, env));
      }
      const baselineS = Math.min(...base.map((b) => b.s));
      const bestS = Math.min(...got.map((g) => g.s));
      const maxRssMb = Math.max(...got.map((g) => g.rssMb));
      const pairs = got.map((g, r) => (base[r]?.s ?? Number.NaN) / g.s);
      results.push({
        rows,
        variant: v,
        baselineS,
        bestS,
        baseTimes: base.map((b) => b.s),
        times: got.map((g) => g.s),
        maxRssMb,
        bytes: got[0]?.bytes ?? 0,
      });
      say(
        `${v.name}: psql ${base.map((b) => b.s.toFixed(2)).join(" ")} s, AOS ${got.map((g) => g.s.toFixed(2)).join(" ")} s; ` +
          `each pair ${pairs.map((p) => `${p.toFixed(2)}x`).join(" ")}; best ${fmt(rows / baselineS)} vs ${fmt(rows / bestS)} rows/s = ${(baselineS / bestS).toFixed(2)}x psql (${load()})`,
      );
      say(
        `  AOS peak RSS ${got.map((g) => g.rssMb.toFixed(0)).join(" ")} MB (V8 heap ${got.map((g) => g.heapMb.toFixed(0)).join(" ")} MB, ` +
          `buffers ${got.map((g) => g.externalMb.toFixed(0)).join(" ")} MB); CPU s of the best runs: psql's postgres ` +
          `${base.find((b) => b.s === baselineS)?.pgCpu.toFixed(1)}; AOS ${cpuLine(got.find((g) => g.s === bestS)?.cpu ?? {})}`,
      );
    }
    // Where the time goes, at the first size (the table grows after it): on a miss or --profile.
    if (i === 0 && !noProfile && (forceProfile || misses(results).some((m) => !m.includes("RSS")))) {
      console.log(`\n  profile at ${fmt(rows)} rows: each stage alone, best of ${runs}`);
      await profile({ exporter: x, tenantId: tenant.id, rows, runs, env, url, say: (m) => say(`  ${m}`) });
    }
  }
  table(results);
  const missed = misses(results);
  return verdict(missed);
}

await runBench(main, cleanup, "stopping children, dropping the bench database");
