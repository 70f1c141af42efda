/**
 * `npm run bench:workflows`: the replay verifier's rate against a baseline, in one process, on one
 * fresh database (aos_bench_workflows_<pid>, migrated).
 *
 * One run of `--ops` ops (10,000 by default: kv_store `set` steps, every third arg a `$ref` to an
 * earlier result) is recorded through the audit log's own recording function (hashes, chain).
 * Then, best of `--runs`:
 *   aos       Workflows.replay(run, verify): read the run and its ops, re-derive every op's args
 *             from the definition and earlier results, compare identity, version, args and
 *             status, check the hash chain, write the replay_runs row;
 *   baseline  one SELECT of the same ops' args and results, SHA-256 of each in JS.
 * Target: aos / baseline >= 0.5 (exit 1 when missed). A verification that does not say
 * `verified` fails the bench.
 *
 * Then step execution (bench/workflows-steps.ts), best of `--runs`: `--steps` kv_store ops run by
 * the WorkflowSteps worker in-process (runs of 100 steps, the next message really sent to fauxqs)
 * against the same ops by `Skills.execute` directly; target aos / direct >= 0.5. The worker's
 * statements to Postgres per op are counted and printed.
 *
 * Flags: --ops 10000  --steps 1000  --runs 3  --keep  --chain S (WORKFLOW_STEP_CHAIN_S; 0: an op per message)
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { config, setConfig } from "../core/config.ts";
import { type Actor, withContext } from "../core/context.ts";
import { closePool, query, withTx } from "../core/platform/db/index.ts";
import { hashArgs } from "../core/platform/idempotency/index.ts";
import { closeSqs } from "../core/platform/queue.ts";
import { closeRedis } from "../core/platform/redis.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import * as Workflows from "../core/workflows/index.ts";
import * as wsql from "../core/workflows/workflows.sql.ts";
import { benchBaseUrl, benchDb } from "./bench-db.ts";
import { aosSteps, directSteps, grantFor, statementsPerStep, stepQueue } from "./workflows-steps.ts";

const { values } = parseArgs({
  options: {
    ops: { type: "string", default: "10000" },
    steps: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    chain: { type: "string" },
    keep: { type: "boolean" },
  },
});
const OPS = Number(values.ops);
const STEPS = Math.ceil(Number(values.steps) / 100) * 100;
const RUNS = Number(values.runs);
const db = benchDb("workflows");

const as = <T>(actor: Actor, fn: () => Promise<T>) =>
  withContext({ requestId: "bench", correlationId: "bench", actor }, fn);

async function seed(): Promise<{ actor: Actor; tenantId: string; runId: string }> {
  const system = { type: "system", name: "bench" } as const;
  const t = await as(system, () =>
    Tenancy.createTenant({ slug: `bench-wf-${process.pid}`, name: "workflows bench", initial_key_role: "agent" }),
  );
  if (!t.key) throw new Error("tenant created without its key");
  const actor: Actor = { type: "key", keyId: t.key.id, tenantId: t.id, role: "agent" };
  const steps = Array.from({ length: OPS }, (_, i) => ({
    id: `s${i}`,
    skill: "kv_store",
    args: { op: "set", key: `k${i % 100}`, value: i % 3 === 2 ? { $ref: `steps.s${i - 1}.result.op` } : i },
  }));
  const runId = await as({ ...system, tenantId: t.id }, () =>
    withTx(async () => {
      const { rows } = await query<{ id: string }>(wsql.insertDefinition, [
        t.id,
        "bench",
        1,
        JSON.stringify(steps),
        Workflows.hashJson(steps),
        "system:bench",
      ]);
      const defId = (rows[0] as { id: string }).id;
      const now = new Date();
      const run = await query<{ id: string }>(wsql.insertRun, [
        t.id,
        defId,
        "bench",
        1,
        "{}",
        null,
        null,
        null,
        OPS,
        0,
        "system:bench",
        now,
      ]);
      const id = (run.rows[0] as { id: string }).id;
      let head: string | null = null;
      for (const [i, s] of steps.entries()) {
        const args = { op: "set", key: s.args.key, value: i % 3 === 2 ? "set" : i };
        const op = await Workflows.recordOp(
          {
            runId: id,
            tenantId: t.id,
            opIndex: i,
            stepId: s.id,
            skill: "kv_store",
            skillVersion: "1.0.0",
            args,
            status: "succeeded",
            result: { op: "set" },
            durationMs: 1,
            transient: false,
            idempotencyKey: Workflows.opKey(id, i),
            credits: 1,
            startedAt: now,
            completedAt: now,
          },
          head,
        );
        head = op.hash;
      }
      await query(wsql.moveRun, [id, t.id, "completed", OPS, 0, 0, head, null, now, 0]);
      return id;
    }),
  );
  return { actor, tenantId: t.id, runId };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function main(): Promise<number> {
  const baseUrl = benchBaseUrl();
  const url = await db.create(baseUrl);
  let queue: Awaited<ReturnType<typeof stepQueue>> | undefined;
  try {
    queue = await stepQueue();
    setConfig({
      STAGE: "bench",
      LOG_LEVEL: "silent",
      DATABASE_URL: url,
      WORKFLOW_REPLAY_MAX_OPS: String(OPS),
      ...(values.chain !== undefined ? { WORKFLOW_STEP_CHAIN_S: values.chain } : {}),
      ...queue.env,
    });
    console.log(`workflows bench: node ${process.version}, ${cpus().length} cores; ${OPS} ops, best of ${RUNS}`);
    const t0 = performance.now();
    const { actor, tenantId, runId } = await seed();
    console.log(`seeded one run of ${OPS} ops in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    let best = { aos: Number.POSITIVE_INFINITY, base: Number.POSITIVE_INFINITY };
    for (let r = 1; r <= RUNS; r++) {
      let verdict = "";
      const aos = await timed(async () => {
        verdict = (await as(actor, () => Workflows.replay(runId, { mode: "verify" }))).status;
      });
      if (verdict !== "verified") throw new Error(`the verification said ${verdict}`);
      const base = await timed(async () => {
        const { rows } = await query<{ args: unknown; result: unknown }>(
          "select args, result from workflow_ops where workflow_run_id = $1 order by op_index",
          [runId],
        );
        let n = 0;
        for (const o of rows) if (hashArgs(o.args) && hashArgs(o.result)) n++;
        if (n !== OPS) throw new Error(`baseline hashed ${n} ops`);
      });
      best = { aos: Math.min(best.aos, aos), base: Math.min(best.base, base) };
      console.log(
        `round ${r}: aos ${(OPS / aos).toFixed(0)} ops/s (${aos.toFixed(2)} s), baseline ${(OPS / base).toFixed(0)} ops/s (${base.toFixed(2)} s)`,
      );
    }
    const ratio = best.base / best.aos;
    console.log(`verification aos/baseline = ${ratio.toFixed(2)} (target >= 0.5): ${ratio >= 0.5 ? "met" : "MISSED"}`);

    console.log(`step execution: ${STEPS} kv_store ops, best of ${RUNS}`);
    await grantFor(tenantId, STEPS * (RUNS + 1) + 100);
    let steps = { aos: Number.POSITIVE_INFINITY, direct: Number.POSITIVE_INFINITY };
    for (let r = 1; r <= RUNS; r++) {
      const aos = await aosSteps(actor, STEPS, r);
      const direct = await directSteps(actor, STEPS, r);
      steps = { aos: Math.min(steps.aos, aos), direct: Math.min(steps.direct, direct) };
      console.log(
        `round ${r}: aos ${(STEPS / aos).toFixed(0)} steps/s (${aos.toFixed(2)} s), Skills.execute ${(STEPS / direct).toFixed(0)} calls/s (${direct.toFixed(2)} s)`,
      );
    }
    const perStep = await statementsPerStep(actor, RUNS + 1);
    const stepRatio = steps.direct / steps.aos;
    console.log(`worker statements to Postgres per op: ${perStep.toFixed(1)}`);
    console.log(
      `step execution aos/direct = ${stepRatio.toFixed(2)} (target >= 0.5): ${stepRatio >= 0.5 ? "met" : "MISSED"}`,
    );
    return ratio >= 0.5 && stepRatio >= 0.5 ? 0 : 1;
  } finally {
    await Promise.allSettled([closePool(), closeRedis(), closeSqs()]);
    await queue?.stop();
    if (!values.keep) await db.drop(baseUrl);
    void config;
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
