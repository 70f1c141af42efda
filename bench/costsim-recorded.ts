/**
 * bench:costsim (c), recorded: the same accuracy measured through the product's own path instead
 * of in memory. The history is still SYNTHETIC (costsim-accuracy.ts's seeded world), but it is
 * RECORDED through the real tables and the real shadow and actuals path:
 *
 * - a new tenant per world;
 * - the calibration half's attempts written as that tenant's workflow_ops rows (under a few
 *   synthetic completed workflow_runs of one workflow_definitions row), completed within the last
 *   24 hours by the attempt's hour, so that the skill_metrics view rolls them up hourly and V2's
 *   history reader (functions/_lib/costsim-history.ts) reads them as it reads any tenant's;
 * - `holdout` hold-out runs, plans picked as accuracy() picks them (same seed: the first
 *   `holdout` of its hold-out runs): each simulated with `Costsim.simulate` (COSTSIM_V2_SANDBOX
 *   on, a distinct budget each, so each is a comparison of its own), its shadow request taken from
 *   the Redis stream and run by `Costsim.runShadow` with the real history reader (the comparison
 *   row, compared_at set), then run in the world and its outcome recorded by
 *   `Costsim.recordActual` (expected to reach exactly that simulation's row). Hold-out runs are
 *   never written to workflow_ops: V2 never calibrates on them;
 * - `Costsim.status()` of the tenant: V1's and V2's median absolute error against those actuals,
 *   and whether V2 may be promoted;
 * - as a check of the path, the same hold-out runs judged in memory (V1, and V2 over historyOf of
 *   the same attempts): the recorded figures should agree with them up to the rounding of the
 *   recorded durations (integer ms) and units per call (4 decimals).
 */
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import { setConfig } from "../core/config.ts";
import { withContext } from "../core/context.ts";
import * as Costsim from "../core/costsim/index.ts";
import { settleBackground } from "../core/platform/background.ts";
import { redis } from "../core/platform/redis.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import { readHistory } from "../functions/_lib/costsim-history.ts";
import { type Attempt, calibrationOf, historyOf, run, type World } from "./costsim-accuracy.ts";

/** Parent runs the calibration attempts are spread over (op_index unique per run). */
const PARENT_RUNS = 8;
/** Rows per INSERT ... unnest. */
const CHUNK = 4000;

const median = (xs: number[]) => Costsim.quantile(xs, 0.5) ?? Number.NaN;
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export interface RecordedFigures {
  tenantId: string;
  /** workflow_ops rows written (the calibration half's attempts). */
  opsWritten: number;
  holdout: number;
  /** Hold-out runs whose recordActual reached exactly one row. */
  recorded: number;
  /** What went wrong on the path: a recordActual count other than 1, a shadow outcome other than done. */
  defects: string[];
  status: Costsim.StatusReply;
  /** The same hold-out runs judged in memory (historyOf of the same attempts): what the recorded path should agree with. */
  sameRunsInMemory: { v1: { credits: number; ms: number }; v2: { credits: number; ms: number } };
  /** The canary's replay of the newest recorded inputs after the hold-out runs. */
  replay: Costsim.ReplayCheck;
  seconds: { history: number; holdout: number; replay: number };
}

/** The calibration attempts as workflow_ops rows of `tenantId` (a definition, PARENT_RUNS runs). */
async function writeHistory(client: pg.Client, tenantId: string, attempts: readonly Attempt[]): Promise<number> {
  const steps = "[]";
  const def = await client.query<{ id: string }>(
    `insert into workflow_definitions (tenant_id, name, version, steps, steps_hash, created_by)
     values ($1, 'bench-history', 1, CAST($2 AS jsonb), $3, 'bench') returning id`,
    [tenantId, steps, sha256(steps)],
  );
  const definitionId = (def.rows[0] as { id: string }).id;
  const runs = await client.query<{ id: string }>(
    `insert into workflow_runs (tenant_id, definition_id, workflow_name, version, status, steps_total, created_by, finished_at)
     select $1, $2, 'bench-history', 1, 'completed', 1, 'bench', now() from generate_series(1, $3) returning id`,
    [tenantId, definitionId, PARENT_RUNS],
  );
  const runIds = runs.rows.map((r) => r.id);
  // Hour h of the attempts (0..23) is the h-th of the last 24 whole hours, the current one last.
  const thisHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const base = thisHour - 23 * 3_600_000;
  const argsHash = sha256("{}");
  for (let from = 0; from < attempts.length; from += CHUNK) {
    const chunk = attempts.slice(from, from + CHUNK);
    const k = chunk.map((_, j) => from + j);
    await client.query(
      `insert into workflow_ops (tenant_id, workflow_run_id, op_index, step_id, op_type, args, args_hash,
         result, result_hash, status, duration_ms, credits, units, hash, completed_at)
       select $1, t.run_id, t.op_index, t.skill, t.skill, CAST('{}' AS jsonb), $2,
         case when t.failed then null else CAST('{}' AS jsonb) end,
         case when t.failed then null else $2 end,
         case when t.failed then 'failed' else 'succeeded' end,
         t.duration_ms, t.credits, t.units,
         encode(sha256(convert_to(CAST(t.run_id AS text) || ':' || CAST(t.op_index AS text), 'UTF8')), 'hex'),
         t.completed_at
       from unnest(CAST($3 AS uuid[]), CAST($4 AS integer[]), CAST($5 AS text[]), CAST($6 AS boolean[]),
         CAST($7 AS integer[]), CAST($8 AS numeric[]), CAST($9 AS numeric[]), CAST($10 AS timestamptz[]))
         as t(run_id, op_index, skill, failed, duration_ms, credits, units, completed_at)`,
      [
        tenantId,
        argsHash,
        k.map((i) => runIds[i % PARENT_RUNS]),
        k.map((i) => Math.floor(i / PARENT_RUNS)),
        chunk.map((a) => a.skill),
        chunk.map((a) => a.failed),
        chunk.map((a) => Math.round(a.ms)),
        chunk.map((a) => String(a.credits)),
        // voyage_embed's units; null for a skill priced per call (historyOf's units_per_call null).
        chunk.map((a) => (a.skill === "voyage_embed" ? String(a.units) : null)),
        chunk.map((a) => new Date(base + a.hour * 3_600_000).toISOString()),
      ],
    );
  }
  return attempts.length;
}

/**
 * Calibrate V2 on `runs` runs of `world` recorded as a new tenant's workflow_ops, then run
 * `holdout` hold-out runs through simulate, the shadow and recordActual; the tenant's status.
 */
export async function recordedAccuracy(
  url: string,
  world: World,
  seed: number,
  runs: number,
  holdout: number,
): Promise<RecordedFigures> {
  const system = { type: "system", name: "bench", tenantId: undefined } as const;
  const tenant = await withContext({ requestId: "rc", correlationId: "rc", actor: system }, () =>
    Tenancy.createTenant({
      slug: `bench-acc-${randomUUID().slice(0, 8)}`,
      name: `bench accuracy: ${world.name}`,
      initial_key_role: "none",
    }),
  );
  const tenantId = tenant.id;
  const { r, pick, attempts } = calibrationOf(world, seed, runs);
  const t0 = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let opsWritten: number;
  try {
    opsWritten = await writeHistory(client, tenantId, attempts);
  } finally {
    await client.end();
  }
  const t1 = performance.now();
  const defects: string[] = [];
  let recorded = 0;
  const history = historyOf(attempts);
  const err = { v1c: [] as number[], v1d: [] as number[], v2c: [] as number[], v2d: [] as number[] };
  const actor = { type: "system", name: "bench", tenantId } as const;
  setConfig({ COSTSIM_V2_SANDBOX: "true" });
  try {
    for (let i = 0; i < holdout; i++) {
      const { steps } = pick();
      const body = { workflow: { steps }, input: {} };
      const ctx = { requestId: `rc${i}`, correlationId: `rc${i}`, actor };
      const count = await withContext(ctx, async () => {
        await Costsim.simulate({ plan: body, budget: i + 1 });
        await settleBackground();
        const entries = await redis().xrange(Costsim.SHADOW_STREAM, 100);
        // Only this tenant's requests (another process may share the stream).
        const ours = entries.filter(
          (e) => (JSON.parse(e.fields.m ?? "null") as Costsim.ShadowMessage | null)?.tenantId === tenantId,
        );
        if (ours.length !== 1) defects.push(`run ${i}: ${ours.length} shadow requests in the stream, 1 expected`);
        for (const e of ours) {
          const outcome = await Costsim.runShadow(
            JSON.parse(e.fields.m as string) as Costsim.ShadowMessage,
            readHistory,
          );
          if (outcome.outcome !== "done") defects.push(`run ${i}: runShadow answered ${JSON.stringify(outcome)}`);
        }
        await redis().xdel(
          Costsim.SHADOW_STREAM,
          ours.map((e) => e.id),
        );
        const plan = Costsim.planOf(body, Costsim.planOptions());
        const actual = run(world, plan, r, 0);
        const v1 = Costsim.simulateV1(plan);
        const v2 = Costsim.simulateV2(plan, history);
        err.v1c.push(Math.abs(v1.credits - actual.credits));
        err.v1d.push(Math.abs(v1.duration_ms - actual.ms));
        err.v2c.push(Math.abs(v2.credits - actual.credits));
        err.v2d.push(Math.abs(v2.duration_ms - actual.ms));
        return Costsim.recordActual({
          tenantId,
          planHash: Costsim.hashOf(plan),
          runId: randomUUID(),
          credits: actual.credits,
          durationMs: actual.ms,
          startedAt: new Date(),
        });
      });
      if (count === 1) recorded++;
      else defects.push(`run ${i}: recordActual reached ${count} rows, 1 expected`);
    }
  } finally {
    setConfig({ COSTSIM_V2_SANDBOX: "false" });
  }
  const t2 = performance.now();
  const status = await withContext({ requestId: "rs", correlationId: "rs", actor }, () => Costsim.status());
  // The canary's replay of the newest recorded inputs (those of these hold-out runs, at most
  // COSTSIM_CANARY_REPLAY_SAMPLES): read, decompressed, V1 and V2 run again, judged.
  const t3 = performance.now();
  const replay = await Costsim.replayRecent(new Date());
  const t4 = performance.now();
  return {
    tenantId,
    opsWritten,
    holdout,
    recorded,
    defects,
    status,
    sameRunsInMemory: {
      v1: { credits: median(err.v1c), ms: median(err.v1d) },
      v2: { credits: median(err.v2c), ms: median(err.v2d) },
    },
    replay,
    seconds: { history: (t1 - t0) / 1000, holdout: (t2 - t1) / 1000, replay: (t4 - t3) / 1000 },
  };
}
