/**
 * `npm run bench:costsim`: what cost simulation's V2 shadow costs and what it is worth (issue 18,
 * "Measured"). A bench database of its own (aos_bench_costsim_<pid>, migrated, one tenant).
 *
 * (a) Shadow overhead: the V1 simulate path (`Costsim.simulate`, what POST /api/v1/costsim/simulate
 *     calls) with COSTSIM_V2_SANDBOX off against the same with it on (V1 answered, the shadow
 *     request appended to the Redis stream costsim:shadow beside it), alternated call by call in this
 *     process so the machine's load reaches both alike. Target: on adds at most 1 ms at p99.
 *     Then the relay (the CostsimShadowRelay cron's work) sends every request's message to the
 *     CostsimShadow queue of fauxqs, the local SQS stand-in started here: all must arrive.
 * (b) Divergence report over `--rows` (1,000,000) provenance rows of one tenant
 *     (costsim-divergence.ts: realistic spreads, some actuals) against a bare SQL percentile_cont
 *     over the same rows, alternated, warm. Target: the report at no less than 0.5x the baseline's
 *     rows/s. Printed beside it, for information: the same report against a drift threshold of
 *     0.1, which takes its slowest way (the differences sorted for the outlier fence, the
 *     outliers counted in a last pass).
 * (c) Accuracy on hold-out history (costsim-accuracy.ts; SYNTHETIC, seeded): V2 calibrated on
 *     one half, V1 and V2 evaluated on the other, median absolute error against actual cost and
 *     duration, per world twice: in memory (--runs hold-out runs), and recorded (costsim-recorded.ts:
 *     the same synthetic calibration half written as a new tenant's workflow_ops rows, --holdout
 *     hold-out runs through the real simulate, shadow and recordActual path, the figures of
 *     Costsim.status() with its promotion verdict). The errors are information, not a target: each
 *     line says which is better and by how much. A target: every hold-out run's recordActual
 *     reaches exactly its own simulation's comparison (else MISS).
 *
 * Flags: --calls 2000 (pairs of (a))  --warmup 200  --rows 1000000  --rounds 5 (of (b))
 *        --runs 4000 (per half, (c))  --holdout 1000 (recorded hold-out runs, (c))  --seed 18
 *        --parts abc (which to run)  --keep (keep the database)
 */
import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import pg from "pg";
import { setConfig } from "../core/config.ts";
import { withContext } from "../core/context.ts";
import * as Costsim from "../core/costsim/index.ts";
import { settleBackground } from "../core/platform/background.ts";
import { closePool } from "../core/platform/db/index.ts";
import { closeRedis, redis } from "../core/platform/redis.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import { startSqs } from "../local/emulators.ts";
import { benchBaseUrl, benchDb } from "./bench-db.ts";
import { accuracy, WORLDS } from "./costsim-accuracy.ts";
import { baselineSql, generate } from "./costsim-divergence.ts";
import { recordedAccuracy } from "./costsim-recorded.ts";
import { load, runBench, say, verdict } from "./run.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CALLS = arg("calls", 2000);
const WARMUP = arg("warmup", 200);
const ROWS = arg("rows", 1_000_000);
const ROUNDS = arg("rounds", 5);
const RUNS = arg("runs", 4000);
const HOLDOUT = arg("holdout", 1000);
const SEED = arg("seed", 18);
const KEEP = process.argv.includes("--keep");
const PARTS = (() => {
  const i = process.argv.indexOf("--parts");
  return i > 0 ? String(process.argv[i + 1]) : "abc";
})();

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const ms = (n: number) => `${n.toFixed(3)} ms`;
const row = (name: string, xs: number[]) =>
  `${name.padEnd(16)} p50 ${ms(pct(xs, 50))}   p95 ${ms(pct(xs, 95))}   p99 ${ms(pct(xs, 99))}`;

const base = benchBaseUrl();
const db = benchDb("costsim");
let stopSqs: (() => Promise<void>) | undefined;
let shadowQueue: { endpoint: string; url: string } | undefined;

/** Messages waiting in CostsimShadow (no consumer runs here: the relay sent one per request). */
async function shadowMessages(): Promise<number> {
  const q = shadowQueue as { endpoint: string; url: string };
  const { localCredentials } = await import("../local/emulators.ts");
  const sqs = new SQSClient({ endpoint: q.endpoint, region: "us-east-1", credentials: localCredentials() });
  try {
    const r = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0);
  } finally {
    sqs.destroy();
  }
}

/** A plan like the ones callers send: a three-step workflow, one step priced after the run. */
const planBody = {
  plan: {
    workflow: {
      name: "bench-digest",
      steps: [
        { id: "get", skill: "kv_store", args: { op: "get", key: "texts" } },
        { id: "embed", skill: "voyage_embed", args: { input: { $ref: "steps.get.result.value" } } },
        { id: "hook", skill: "webhook_send", args: { url: "https://example.com/hook", payload: {} } },
      ],
    },
    input: {},
  },
};

/**
 * One simulate call as the HTTP kit makes it: `Costsim.simulate`, then `settleBackground()`,
 * which functions/_lib/http.ts awaits before the handler returns (Lambda freezes the process
 * after): the shadow request's XADD is finished inside the invocation, so a Lambda caller waits
 * for what of it V1's own work did not cover. Both times are kept: `returned` (simulate's own promise: what a long-lived process's
 * caller waits for) and `settled` (what a Lambda invocation's caller waits for). The target is
 * judged on `settled`, the stricter.
 */
async function shadowOverhead(tenantId: string, missed: string[]): Promise<void> {
  console.log(`\n(a) shadow overhead: ${CALLS} pairs after ${WARMUP} warm-up pairs, alternated (${load()})`);
  const actor = { type: "system", name: "bench", tenantId } as const;
  const call = async (sandbox: boolean, n: number) => {
    setConfig({ COSTSIM_V2_SANDBOX: sandbox ? "true" : "false" });
    // A new input each call: each would be a comparison of its own.
    const body = { ...planBody, plan: { ...planBody.plan, input: { n } } };
    return withContext({ requestId: `b${n}`, correlationId: `b${n}`, actor }, async () => {
      const t0 = performance.now();
      await Costsim.simulate(body);
      const returned = performance.now() - t0;
      await settleBackground();
      return { returned, settled: performance.now() - t0 };
    });
  };
  const off = { returned: [] as number[], settled: [] as number[] };
  const on = { returned: [] as number[], settled: [] as number[] };
  const push = (to: typeof off, r: { returned: number; settled: number }) => {
    to.returned.push(r.returned);
    to.settled.push(r.settled);
  };
  for (let i = 0; i < WARMUP; i++) {
    await call(false, i);
    await call(true, i);
  }
  for (let i = 0; i < CALLS; i++) {
    // Alternate which side goes first, so neither always follows the other.
    if (i % 2) {
      push(off, await call(false, i));
      push(on, await call(true, i));
    } else {
      push(on, await call(true, i));
      push(off, await call(false, i));
    }
  }
  setConfig({ COSTSIM_V2_SANDBOX: "false" });
  const written = await redis().xlen(Costsim.SHADOW_STREAM);
  // The relay cron's work, until nothing is left to send.
  const relay = { requestId: "relay", correlationId: "relay", actor: { type: "system", name: "bench" } } as const;
  while ((await withContext(relay, () => Costsim.relayRequests())).relayed > 0);
  const sent = await shadowMessages();
  say(row("off, returned", off.returned));
  say(row("on, returned", on.returned));
  say(row("off, settled", off.settled));
  say(row("on, settled", on.settled));
  const addedReturned = pct(on.returned, 99) - pct(off.returned, 99);
  const added = pct(on.settled, 99) - pct(off.settled, 99);
  say(
    `added by the shadow, returned: p50 ${ms(pct(on.returned, 50) - pct(off.returned, 50))}, p99 ${ms(addedReturned)}`,
  );
  say(
    `added by the shadow, settled (the send finished, as the HTTP kit does before returning): p50 ${ms(pct(on.settled, 50) - pct(off.settled, 50))}, p99 ${ms(added)} (target <= 1 ms): ${added <= 1 ? "PASS" : "MISS"}`,
  );
  say(`shadow requests stored: ${written}, relayed to CostsimShadow: ${sent} (expected ${WARMUP + CALLS} each)`);
  if (written !== WARMUP + CALLS || sent !== WARMUP + CALLS)
    missed.push(`(a) ${written} shadow requests, ${sent} messages relayed, ${WARMUP + CALLS} expected`);
  if (added > 1) missed.push(`(a) the shadow adds ${added.toFixed(3)} ms at p99, settled (target <= 1 ms)`);
}

async function divergenceRate(url: string, tenantId: string, missed: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    console.log(`\n(b) divergence report over ${ROWS.toLocaleString("en")} provenance rows of one tenant`);
    const genS = await generate(client, tenantId, ROWS);
    const spread = await client.query(
      `select verdict, count(*) as n from costsim_provenance where tenant_id = $1 group by verdict order by verdict`,
      [tenantId],
    );
    say(`generated in ${genS.toFixed(1)} s: ${spread.rows.map((r) => `${r.verdict} ${r.n}`).join(", ")}`);
    const actor = { type: "system", name: "bench", tenantId } as const;
    const report = async (thresholds?: {
      COSTSIM_DRIFT_THRESHOLD: string;
      COSTSIM_DRIFT_WARNING_THRESHOLD: string;
    }) => {
      if (thresholds) setConfig(thresholds);
      try {
        const t0 = performance.now();
        const r = await withContext({ requestId: "d", correlationId: "d", actor }, () =>
          Costsim.divergenceReport({ since: new Date(Date.now() - 31 * 86_400_000) }),
        );
        return { s: (performance.now() - t0) / 1000, r };
      } finally {
        if (thresholds) setConfig({ COSTSIM_DRIFT_THRESHOLD: "0.2", COSTSIM_DRIFT_WARNING_THRESHOLD: "0.15" });
      }
    };
    // The same rows judged against a drift threshold of 0.1: fewer than three quarters of them
    // differ by less than a quarter of it, so the report sorts the differences for the outlier
    // fence and, the fence being above the threshold, counts the outliers in a last pass.
    const drifting = { COSTSIM_DRIFT_THRESHOLD: "0.1", COSTSIM_DRIFT_WARNING_THRESHOLD: "0.05" };
    const baseline = async () => {
      const t0 = performance.now();
      await client.query(baselineSql, [tenantId]);
      return (performance.now() - t0) / 1000;
    };
    // Warm: the first scans read the table into the cache.
    await baseline();
    const first = await report();
    await report(drifting);
    const b: number[] = [];
    const r: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2) {
        b.push(await baseline());
        r.push((await report()).s);
        w.push((await report(drifting)).s);
      } else {
        w.push((await report(drifting)).s);
        r.push((await report()).s);
        b.push(await baseline());
      }
    }
    const med = (xs: number[]) => pct(xs, 50);
    const rate = (s: number) => Math.round(ROWS / s);
    const ratio = rate(med(r)) / rate(med(b));
    const worst = rate(med(w)) / rate(med(b));
    const series = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(" ");
    say(
      `baseline (percentile_cont of cost_delta)  median ${med(b).toFixed(3)} s  ${rate(med(b)).toLocaleString("en")} rows/s   (${series(b)})`,
    );
    say(
      `divergence report                          median ${med(r).toFixed(3)} s  ${rate(med(r)).toLocaleString("en")} rows/s   (${series(r)})`,
    );
    say(
      `  the same, drift threshold 0.1 (sorts the differences, a last pass for the outliers): median ${med(w).toFixed(3)} s, ${worst.toFixed(2)}x (information)   (${series(w)})`,
    );
    say(`ratio ${ratio.toFixed(2)}x (target >= 0.5x): ${ratio >= 0.5 ? "PASS" : "MISS"}`);
    const f = first.r;
    say(
      `report: sample_count ${f.sample_count}, delta_p50 ${f.delta_p50}, delta_p90 ${f.delta_p90}, kl ${f.kl_divergence}, outliers ${f.outlier_count}, fail_ratio ${f.fail_ratio}, matching_rate ${f.matching_rate}`,
    );
    if (ratio < 0.5)
      missed.push(`(b) the divergence report runs at ${ratio.toFixed(2)}x the baseline (target >= 0.5x)`);
  } finally {
    await client.end();
  }
}

const better = (v1: number, v2: number, unit: string) => {
  if (v1 === v2) return `equal (${v1.toFixed(2)} ${unit})`;
  const who = v2 < v1 ? "V2" : "V1";
  const by = Math.abs(v1 - v2);
  const rel = Math.max(v1, v2) > 0 ? ` (${((by / Math.max(v1, v2)) * 100).toFixed(1)}% less error)` : "";
  return `${who} better by ${by.toFixed(2)} ${unit}${rel}`;
};

async function accuracyReport(url: string, missed: string[]): Promise<void> {
  console.log(
    `\n(c) accuracy on hold-out history: SYNTHETIC, seeded (seed ${SEED}), ${RUNS} runs to calibrate V2; in memory ${RUNS} hold-out runs; recorded (workflow_ops, simulate, shadow, recordActual, status) ${HOLDOUT} hold-out runs, seed ${SEED} (the first ${HOLDOUT} of the in-memory ones)`,
  );
  for (const w of WORLDS) {
    const a = accuracy(w, SEED, RUNS);
    say(`world "${a.world}" (V2 mean confidence ${a.v2Confidence.toFixed(2)}):`);
    say(`  in memory, ${a.holdout} hold-out runs:`);
    say(
      `    median |error| cost      V1 ${a.v1.credits.toFixed(2)} credits   V2 ${a.v2.credits.toFixed(2)} credits   ${better(a.v1.credits, a.v2.credits, "credits")}`,
    );
    say(
      `    median |error| duration  V1 ${a.v1.ms.toFixed(0)} ms   V2 ${a.v2.ms.toFixed(0)} ms   ${better(a.v1.ms, a.v2.ms, "ms")}`,
    );
    say(
      `    cost, plans priced after the run (${a.unitsUnknown.runs} runs): V1 ${a.unitsUnknown.v1.toFixed(2)}   V2 ${a.unitsUnknown.v2.toFixed(2)}   ${better(a.unitsUnknown.v1, a.unitsUnknown.v2, "credits")}`,
    );
    const rec = await recordedAccuracy(url, w, SEED, RUNS, HOLDOUT);
    const { v1, v2 } = rec.status.accuracy;
    say(
      `  recorded, ${rec.holdout} hold-out runs (${rec.opsWritten} calibration attempts as workflow_ops in ${rec.seconds.history.toFixed(1)} s; hold-out in ${rec.seconds.holdout.toFixed(1)} s; ${rec.recorded} actuals recorded, ${rec.defects.length} defects):`,
    );
    say(`    samples with actuals     V1 ${v1.samples}   V2 ${v2.samples}`);
    const line = (name: string, x1: number | null, x2: number | null, unit: string, digits: number) =>
      x1 === null || x2 === null
        ? `    median |error| ${name}V1 ${x1 ?? "n/a"}   V2 ${x2 ?? "n/a"} (insufficient data)`
        : `    median |error| ${name}V1 ${x1.toFixed(digits)} ${unit}   V2 ${x2.toFixed(digits)} ${unit}   ${better(x1, x2, unit)}`;
    say(line("cost      ", v1.cost_median_abs_error, v2.cost_median_abs_error, "credits", 2));
    say(line("duration  ", v1.duration_median_abs_error_ms, v2.duration_median_abs_error_ms, "ms", 0));
    const m = rec.sameRunsInMemory;
    say(
      `    the same ${rec.holdout} runs in memory (a check of the path): cost V1 ${m.v1.credits.toFixed(2)}  V2 ${m.v2.credits.toFixed(2)} credits; duration V1 ${m.v1.ms.toFixed(0)}  V2 ${m.v2.ms.toFixed(0)} ms`,
    );
    say(`    promotion allowed: ${rec.status.promotion.allowed} (${rec.status.promotion.reason})`);
    const r = rec.replay;
    say(
      `    canary replay: ${r.samples} of the newest recorded inputs run again in ${rec.seconds.replay.toFixed(2)} s (${r.unreadable} unreadable): KL credits ${r.kl_credits}, p95 drift ${r.p95_drift}, verdicts ${JSON.stringify(r.verdicts)}, ${r.changed_since_recorded} answered otherwise than recorded -> ${r.outcome}`,
    );
    if (r.unreadable > 0 || r.changed_since_recorded > 0)
      missed.push(
        `(c) world "${w.name}": the replay read ${r.unreadable} inputs back wrong and ${r.changed_since_recorded} answered otherwise than recorded (the same V2: 0 expected)`,
      );
    for (const d of rec.defects.slice(0, 5)) say(`    defect: ${d}`);
    if (rec.defects.length > 0)
      missed.push(
        `(c) world "${w.name}": ${rec.defects.length} defects on the recorded path (${rec.recorded} of ${rec.holdout} actuals recorded on exactly one comparison)`,
      );
  }
}

async function main(): Promise<number> {
  const url = await db.create(base);
  const sqs = await startSqs({});
  stopSqs = sqs.stop;
  const { ensureQueues, localCredentials } = await import("../local/emulators.ts");
  const { queues } = await import("../functions/routes.ts");
  const urls = await ensureQueues(
    { endpoint: sqs.endpoint, region: "us-east-1", credentials: localCredentials() },
    queues.filter((q) => q.name === Costsim.SHADOW_QUEUE),
  );
  shadowQueue = { endpoint: sqs.endpoint, url: urls[Costsim.SHADOW_QUEUE] as string };
  setConfig({
    DATABASE_URL: url,
    DATABASE_MIGRATION_URL: url,
    SQS_ENDPOINT: sqs.endpoint,
    QUEUE_URLS: JSON.stringify(urls),
    COSTSIM_V2_SANDBOX: "false",
  });
  const system = { type: "system", name: "bench", tenantId: undefined } as const;
  const tenant = await withContext({ requestId: "b", correlationId: "b", actor: system }, () =>
    Tenancy.createTenant({ slug: `bench-${randomUUID().slice(0, 8)}`, name: "bench", initial_key_role: "none" }),
  );
  const missed: string[] = [];
  console.log(`bench:costsim (${load()})`);
  if (PARTS.includes("a")) await shadowOverhead(tenant.id, missed);
  if (PARTS.includes("b")) await divergenceRate(url, tenant.id, missed);
  if (PARTS.includes("c")) await accuracyReport(url, missed);
  console.log(`\n${load()}`);
  return verdict(missed);
}

await runBench(main, async () => {
  await closePool();
  await closeRedis();
  await stopSqs?.();
  if (!KEEP) await db.drop(base);
});
