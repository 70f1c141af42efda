/**
 * Cost simulation's shadow path and provenance on real Postgres: a comparison recorded twice is
 * one row counted once; the CostsimShadow consumer given the same message twice records one row
 * and counts one verdict; a V2 that throws is a `v2_error` comparison (recorded, counted, the
 * message acknowledged); the divergence report in SQL equals the pure `divergence()` on the same
 * rows (KL identical), and says insufficient_data below its minimum.
 */
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import type { Comparison, ComparisonRow, ShadowMessage } from "../../core/costsim/index.ts";
import * as Costsim from "../../core/costsim/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { handler as shadowHandler } from "../../functions/queue/costsim-shadow.ts";
import { lambdaContext, sqsEvent } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { asKey, jobsTenant, type Who } from "../factories/jobs.ts";
import { withConfig } from "../setup/config-override.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

const rowsOf = async (tenantId: string) =>
  (
    await query<Record<string, any>>("select * from costsim_provenance where tenant_id = $1 order by input_hash", [
      tenantId,
    ])
  ).rows;

/** A comparison as compare() would make it (V2 answered unless `v2` is null). */
function comparison(hash: string, v1: [number, number], v2: [number, number] | null, verdict?: Comparison["verdict"]) {
  const [c1, d1] = v1;
  return {
    input_hash: hash,
    history_hash: "h",
    v1_output_hash: `v1-${hash}`,
    v2_output_hash: v2 ? `v2-${hash}` : null,
    verdict: verdict ?? (v2 ? "match" : "v2_error"),
    drift_score: v2 ? 0.01 : null,
    v1_credits: c1,
    v2_credits: v2 ? v2[0] : null,
    cost_delta: v2 ? Math.round((v2[0] - c1) * 10_000) / 10_000 : null,
    v1_duration_ms: d1,
    v2_duration_ms: v2 ? v2[1] : null,
    v2_error: v2 ? null : { code: "costsim.v2_threw", message: "boom" },
  } satisfies Comparison;
}

const plan = Costsim.planOf({
  workflow: { name: "embed", steps: [{ id: "e", skill: "voyage_embed", args: { input: ["a", "b", "c"] } }] },
});

const message = (w: Who, at = new Date()): ShadowMessage => ({
  v: 1,
  tenantId: w.tenantId,
  plan,
  options: { availableCredits: 100 },
  planRef: "workflow:embed@1",
  skills: ["voyage_embed"],
  at: at.toISOString(),
});

const noHistory: Costsim.HistoryReader = async () => ({});

describe("recordComparison", () => {
  it("upserts by (tenant, input hash): the same simulation again changes nothing, a later one replaces it and counts", async () => {
    const w = await jobsTenant(0);
    const at = new Date("2026-12-01T10:00:00Z");
    const c = comparison("in-1", [10, 1000], [11, 1100], "minor_drift");
    const rec = { source: "shadow" as const, skills: ["kv_store"], comparison: c, at };
    const first = await asKey(w, () => Costsim.recordComparison(rec));
    const again = await asKey(w, () => Costsim.recordComparison(rec));
    expect(first).toMatchObject({ outcome: "inserted", simulations: 1 });
    expect(again).toEqual({ id: first.id, outcome: "unchanged", simulations: 1 });

    const later = comparison("in-1", [10, 1000], [10, 1000]);
    const third = await asKey(w, () =>
      Costsim.recordComparison({ ...rec, comparison: later, at: new Date(at.getTime() + 1000) }),
    );
    expect(third).toEqual({ id: first.id, outcome: "updated", simulations: 2 });
    // An older simulation arriving late does not overwrite the newer one.
    const older = await asKey(w, () =>
      Costsim.recordComparison({ ...rec, comparison: c, at: new Date(at.getTime() - 1000) }),
    );
    expect(older.outcome).toBe("unchanged");

    const [row] = await rowsOf(w.tenantId);
    expect(row).toMatchObject({
      verdict: "match",
      simulations: 2,
      v2_credits: "10",
      cost_rel: 0,
      skills: ["kv_store"],
    });
  });

  it("keeps the outputs as jsonb, or gzipped with COSTSIM_PROVENANCE_COMPRESS", async () => {
    const w = await jobsTenant(0);
    const outputs = { v1: { credits: 1 }, v2: { credits: 2 }, v2_error: null };
    const c = comparison("plain", [1, 10], [2, 10], "major_drift");
    await asKey(w, () => Costsim.recordComparison({ source: "backfill", comparison: c, outputs }));
    await withConfig({ COSTSIM_PROVENANCE_COMPRESS: "true" }, () =>
      asKey(w, () =>
        Costsim.recordComparison({ source: "backfill", comparison: { ...c, input_hash: "packed" }, outputs }),
      ),
    );
    const rows = await rowsOf(w.tenantId);
    const packed = rows.find((r) => r.input_hash === "packed");
    const plain = rows.find((r) => r.input_hash === "plain");
    expect(plain).toMatchObject({ outputs, outputs_gz: null, source: "backfill" });
    expect(packed?.outputs).toBeNull();
    expect(JSON.parse(gunzipSync(packed?.outputs_gz as Buffer).toString())).toEqual(outputs);
  });
});

describe("the CostsimShadow consumer", () => {
  it("records one row and counts one verdict for a message delivered twice", async () => {
    const w = await jobsTenant(0);
    const msg = message(w);
    const before = await metricValue('costsim_v2_comparison_verdict_total{verdict="match"}');
    const beforeAll = await Promise.all(
      ["match", "minor_drift", "major_drift", "mismatch", "v2_error"].map((v) =>
        metricValue(`costsim_v2_comparison_verdict_total{verdict="${v}"}`),
      ),
    );
    for (let i = 0; i < 2; i++) {
      const r = await shadowHandler(sqsEvent([msg]), lambdaContext());
      expect(r.batchItemFailures).toEqual([]);
    }
    const rows = await rowsOf(w.tenantId);
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, unknown>;
    expect(row).toMatchObject({
      source: "shadow",
      plan_ref: "workflow:embed@1",
      skills: ["voyage_embed"],
      simulations: 1,
    });
    expect(row.v1_version).toBe(Costsim.V1_VERSION);
    // V2 without history falls back to V1's priors: the same figures, a match.
    expect(row.verdict).toBe("match");
    expect(row.input_hash).toBe(Costsim.hashOf({ plan, options: { availableCredits: 100 } }));
    const after = await Promise.all(
      ["match", "minor_drift", "major_drift", "mismatch", "v2_error"].map((v) =>
        metricValue(`costsim_v2_comparison_verdict_total{verdict="${v}"}`),
      ),
    );
    expect(after.reduce((s, n) => s + n, 0) - beforeAll.reduce((s, n) => s + n, 0)).toBe(1);
    expect(await metricValue('costsim_v2_comparison_verdict_total{verdict="match"}')).toBe(before + 1);
  });

  it("checks a message without options (simulate writes it before its credits read) against the tenant's credits when it runs; a redelivery after they changed is the same input", async () => {
    const w = await jobsTenant(0);
    const { options: _given, ...rest } = message(w);
    const msg: ShadowMessage = { ...rest, budget: 2 };
    await Costsim.runShadow(msg, noHistory);
    await grantCredits(w.tenantId, 500);
    // Redelivered once the tenant has credits: the same input at the same time, nothing changes.
    await Costsim.runShadow(msg, noHistory);
    const rows = await rowsOf(w.tenantId);
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, any>;
    expect(row.input_hash).toBe(Costsim.hashOf({ plan, options: { budget: 2 } }));
    expect(row.simulations).toBe(1);
    // Checked against the balance read at the first delivery (no credits), and the budget.
    expect(row.outputs.v1.feasibility).toMatchObject({ feasible: false, basis: "available_credits", limit: 0 });
    // A later simulation of the same input reads the credits granted since.
    await Costsim.runShadow({ ...msg, budget: 1000, at: new Date(Date.parse(msg.at) + 1000).toISOString() }, noHistory);
    const [later] = (await rowsOf(w.tenantId)).filter((r) => r.input_hash !== row.input_hash);
    expect(later?.outputs.v1.feasibility).toMatchObject({ feasible: true, basis: "available_credits", limit: 500 });
  });

  it("keeps each comparison's input (plan, given and used options, history) gzipped beside it; a later simulation replaces it, a redelivery and a record without one leave it", async () => {
    const w = await jobsTenant(0);
    const seen =
      (units: number): Costsim.HistoryReader =>
      async () => ({
        skill_metrics: [
          {
            skill_name: "voyage_embed",
            calls: 40,
            failures: 0,
            duration_p50_ms: 9,
            duration_p95_ms: 20,
            units_per_call: units,
          },
        ],
      });
    const inputOf = async () => {
      const { rows } = await query<{ input_gz: Buffer; recorded_at: Date; tenant_id: string; provenance_id: string }>(
        `select i.* from costsim_provenance_inputs i join costsim_provenance p on p.id = i.provenance_id
          where p.tenant_id = $1`,
        [w.tenantId],
      );
      expect(rows).toHaveLength(1);
      const row = rows[0] as (typeof rows)[number];
      return { ...row, input: JSON.parse(gunzipSync(row.input_gz).toString("utf8")) };
    };
    const { options: _o, ...rest } = message(w);
    const msg: ShadowMessage = { ...rest, budget: 50 };
    await Costsim.runShadow(msg, seen(7));
    const first = await inputOf();
    const [row] = await rowsOf(w.tenantId);
    expect(first).toMatchObject({ tenant_id: w.tenantId, provenance_id: row?.id });
    expect(first.recorded_at).toEqual(row?.updated_at);
    // What was given (what input_hash hashes), what V1 and V2 ran with, and what V2 read.
    expect(first.input).toEqual({
      plan: JSON.parse(JSON.stringify(plan)),
      given: { budget: 50 },
      options: { budget: 50, availableCredits: 0 },
      history: await seen(7)({ kind: "workflow", name: null, skills: [] }),
    });
    expect(Costsim.hashOf({ plan: first.input.plan, options: first.input.given })).toBe(row?.input_hash);

    await Costsim.runShadow(msg, seen(99)); // redelivered: nothing changes
    expect((await inputOf()).input.history.skill_metrics[0].units_per_call).toBe(7);
    const later = new Date(Date.parse(msg.at) + 5000);
    await Costsim.runShadow({ ...msg, at: later.toISOString() }, seen(99)); // simulated again, another history
    const second = await inputOf();
    expect(second.input.history.skill_metrics[0].units_per_call).toBe(99);
    expect(second.recorded_at).toEqual(later);

    // A comparison recorded without its input (a test's, a backfill's) writes none.
    const v = await jobsTenant(0);
    await withContext(
      { requestId: "r", correlationId: "c", actor: { type: "system", name: "test", tenantId: v.tenantId } },
      () => Costsim.recordComparison({ source: "shadow", comparison: comparison("no-input", [1, 10], [1, 10]) }),
    );
    expect((await query("select 1 from costsim_provenance_inputs where tenant_id = $1", [v.tenantId])).rows).toEqual(
      [],
    );
  });

  it("records a V2 that throws as v2_error, counts a schema error and acknowledges the message", async () => {
    const w = await jobsTenant(0);
    const errors = await metricValue("costsim_v2_schema_errors_total");
    // A history V2 cannot read (calls below 0): simulateV2 throws HistoryInvalidError.
    const badHistory: Costsim.HistoryReader = async () => ({
      skill_metrics: [{ skill_name: "voyage_embed", calls: -1, failures: 0, duration_p50_ms: 1, duration_p95_ms: 2 }],
    });
    const outcome = await Costsim.runShadow(message(w), badHistory);
    expect(outcome.outcome).toBe("done");
    const [row] = await rowsOf(w.tenantId);
    expect(row).toMatchObject({ verdict: "v2_error", v2_credits: null, v2_hash: null, cost_rel: null, kl_bin: null });
    expect(row?.outputs.v2_error.code).toBe("costsim.invalid_history");
    expect(await metricValue("costsim_v2_schema_errors_total")).toBe(errors + 1);
  });

  it("with COSTSIM_PROVENANCE_ENABLED off, counts the comparison and writes no row", async () => {
    const w = await jobsTenant(0);
    const before = await metricValue('costsim_v2_comparison_verdict_total{verdict="match"}');
    await withConfig({ COSTSIM_PROVENANCE_ENABLED: "false" }, () => Costsim.runShadow(message(w), noHistory));
    expect(await rowsOf(w.tenantId)).toEqual([]);
    expect(await metricValue('costsim_v2_comparison_verdict_total{verdict="match"}')).toBe(before + 1);
  });
});

/** A deterministic generator (mulberry32): the same rows every run. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("the divergence report in SQL", () => {
  /**
   * 300 comparisons of a new tenant: `midShare` of them with V2 within `midSpread` of V1, 10% far
   * (0.02x to 0.12x), the rest within 5%.
   */
  async function seedRows(midShare: number, midSpread: number) {
    const w = await jobsTenant(0);
    const r = rng(18);
    const verdicts = ["match", "minor_drift", "major_drift", "mismatch"] as const;
    const rows: ComparisonRow[] = [];
    for (let i = 0; i < 300; i++) {
      const c1 = Math.round(r() * 3000 * 10_000) / 10_000;
      const d1 = Math.round(r() * 200_000);
      const u = r();
      const factor =
        u < 0.1 ? 0.02 + r() * 0.1 : u < 0.1 + midShare ? 1 - midSpread + r() * 2 * midSpread : 0.95 + r() * 0.1;
      const v2 =
        r() < 0.05
          ? null
          : ([Math.round(c1 * factor * 10_000) / 10_000, Math.round(d1 * (0.5 + r()))] as [number, number]);
      const c = comparison(`div-${i}`, [c1, d1], v2, v2 ? verdicts[Math.floor(r() * 4)] : "v2_error");
      const actual =
        r() < 0.4 ? { credits: Math.round(c1 * (0.8 + r() * 0.4) * 10_000) / 10_000, duration_ms: d1 + 7 } : undefined;
      await asKey(w, () => Costsim.recordComparison({ source: "backfill", skills: ["kv_store"], comparison: c }));
      if (actual)
        await query(
          "update costsim_provenance set actual_credits = $3, actual_duration_ms = $4 where tenant_id = $1 and input_hash = $2",
          [w.tenantId, c.input_hash, actual.credits, actual.duration_ms],
        );
      rows.push({ ...c, ...(actual ? { actual } : {}) });
    }
    return { w, rows };
  }

  /** How the report finds the outliers of these rows (report.ts's outliersOf). */
  const pathOf = (rows: ComparisonRow[]) => {
    const rel = rows
      .filter((c) => c.v2_credits !== null)
      .map((c) => Costsim.relativeDifference(c.v1_credits, c.v2_credits as number));
    const drift = Costsim.SEED_THRESHOLDS.drift;
    const low = rel.filter((x) => x < drift / 4).length;
    if (low >= Math.ceil(0.75 * (rel.length - 1)) + 1) return "counted";
    const [q1, q3] = [Costsim.quantile(rel, 0.25) ?? 0, Costsim.quantile(rel, 0.75) ?? 0];
    return q3 + 3 * (q3 - q1) > drift ? "sorted, fence above" : "sorted, fence below";
  };

  // Most within 5%: the counts bound the fence below the drift threshold; more further off: the
  // differences are sorted for their quartiles, whose fence is below the threshold or above it
  // (a last pass counts the outliers).
  it.each([
    [0, 0, "counted"],
    [0.5, 0.08, "sorted, fence below"],
    [0.5, 0.3, "sorted, fence above"],
  ])(
    "equals the pure divergence() on the same rows, KL identical (%s within %s: %s)",
    async (midShare, midSpread, path) => {
      const { w, rows } = await seedRows(midShare, midSpread);
      expect(pathOf(rows)).toBe(path);
      const report = await asKey(w, () => Costsim.divergenceReport({}));
      const pure = Costsim.divergence(rows, Costsim.SEED_THRESHOLDS);
      expect(pure.insufficient_data).toBe(false);
      expect(pure.outlier_count).toBeGreaterThan(0);
      expect(pure.accuracy.v2.insufficient_data).toBe(false);
      const { tenant_id, since, until, skill, thresholds, ...figures } = report;
      expect(figures).toEqual(pure);
      expect(report.kl_divergence).toBe(pure.kl_divergence);
      expect(tenant_id).toBe(w.tenantId);
      // With one connection (DB_POOL_MAX 1) the passes run one after the other: the same report.
      const { until: _u, ...serial } = await withConfig({ DB_POOL_MAX: "1" }, () =>
        asKey(w, () => Costsim.divergenceReport({ until: new Date(until) })),
      );
      expect(serial).toEqual({ ...report, until: undefined });

      // The skill filter: no row calls voyage_embed.
      const none = await asKey(w, () => Costsim.divergenceReport({ skill: "voyage_embed" }));
      expect(none).toMatchObject({ sample_count: 0, insufficient_data: true, kl_divergence: null, fail_ratio: null });
    },
  );

  it("says insufficient_data below min_samples, with every statistic null (never a pass)", async () => {
    const w = await jobsTenant(0);
    for (let i = 0; i < 3; i++)
      await asKey(w, () =>
        Costsim.recordComparison({ source: "shadow", comparison: comparison(`few-${i}`, [5, 100], [5, 100]) }),
      );
    const report = await asKey(w, () => Costsim.divergenceReport({}));
    expect(report).toMatchObject({
      sample_count: 3,
      compared_count: 3,
      min_samples: Costsim.MIN_DIVERGENCE_SAMPLES,
      insufficient_data: true,
      delta_p50: null,
      kl_divergence: null,
      outlier_count: null,
      matching_rate: null,
      verdicts: { match: 3 },
    });
    // A window that holds none of them.
    const past = await asKey(w, () =>
      Costsim.divergenceReport({ since: new Date("2020-01-01T00:00:00Z"), until: new Date("2020-02-01T00:00:00Z") }),
    );
    expect(past).toMatchObject({ sample_count: 0, insufficient_data: true });
    // With min_samples 3 the same rows are enough.
    const enough = await asKey(w, () => Costsim.divergenceReport({ min_samples: 3 }));
    expect(enough).toMatchObject({ insufficient_data: false, delta_p50: 0, kl_divergence: 0, matching_rate: 1 });
  });
});

describe("status: promotion against actuals", () => {
  async function withActuals(w: Who, v2Error: number) {
    for (let i = 0; i < Costsim.MIN_DIVERGENCE_SAMPLES; i++) {
      const c = comparison(`act-${v2Error}-${i}`, [10, 1000], [10 + v2Error, 1000 + v2Error * 100]);
      await asKey(w, () => Costsim.recordComparison({ source: "backfill", comparison: c }));
      // The run really cost 11 credits and took 1100 ms: V1 is 1 credit and 100 ms off.
      await query(
        "update costsim_provenance set actual_credits = 11, actual_duration_ms = 1100 where tenant_id = $1 and input_hash = $2",
        [w.tenantId, c.input_hash],
      );
    }
    return asKey(w, () => Costsim.status(), "viewer");
  }

  it("allows V2's promotion only when its error against actuals is no worse than V1's", async () => {
    const better = await withActuals(await jobsTenant(0), 1);
    expect(better.accuracy.v1).toMatchObject({
      samples: 10,
      cost_median_abs_error: 1,
      duration_median_abs_error_ms: 100,
    });
    expect(better.accuracy.v2).toMatchObject({
      samples: 10,
      cost_median_abs_error: 0,
      duration_median_abs_error_ms: 0,
    });
    expect(better.promotion.allowed).toBe(true);
    expect(better.total).toBe(10);

    const worse = await withActuals(await jobsTenant(0), 3);
    expect(worse.accuracy.v2.cost_median_abs_error).toBe(2);
    expect(worse.promotion).toMatchObject({ allowed: false });
    expect(worse.promotion.reason).toMatch(/worse than V1/);
  });
});

describe("actual outcomes: hold-out runs only", () => {
  it("records a run's outcome only on comparisons made before it began and without one, and a later comparison of the input drops it", async () => {
    const w = await jobsTenant(0);
    const planHash = "p".repeat(64);
    const t0 = new Date("2026-12-01T10:00:00Z");
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const rec = (hash: string, simulated: Date, compared: Date | null) =>
      asKey(w, () =>
        Costsim.recordComparison({
          source: compared ? "shadow" : "backfill",
          plan_hash: planHash,
          comparison: comparison(hash, [10, 1000], [10, 1000]),
          at: simulated,
          compared_at: compared,
        }),
      );
    await rec("before", at(0), at(5));
    await rec("during", at(8), at(12)); // compared after the run began at 10 s
    await rec("backfilled", at(0), null);
    const actual = (s: number, runId: string) =>
      asKey(w, () => Costsim.recordActual({ planHash, runId, credits: 11, durationMs: 900, startedAt: at(s) }));
    const run1 = "00000000-0000-4000-8000-000000000001";
    expect(await actual(10, run1)).toBe(1);
    const byHash = async () =>
      Object.fromEntries(
        (await rowsOf(w.tenantId)).map((r) => [r.input_hash, { run: r.actual_run_id, started: r.actual_started_at }]),
      );
    expect(await byHash()).toEqual({
      before: { run: run1, started: at(10) },
      during: { run: null, started: null },
      backfilled: { run: null, started: null },
    });
    // The same input simulated again after the run: its V2 may have read the run, the outcome goes.
    await rec("before", at(20), at(21));
    expect((await byHash()).before).toEqual({ run: null, started: null });
    // The next run, begun after both comparisons, reaches both; a third finds none without an outcome.
    const run2 = "00000000-0000-4000-8000-000000000002";
    expect(await actual(30, run2)).toBe(2);
    expect(await byHash()).toMatchObject({ before: { run: run2 }, during: { run: run2 }, backfilled: { run: null } });
    expect(await actual(50, "00000000-0000-4000-8000-000000000003")).toBe(0);
    // Another tenant's run of the same plan reaches none of them.
    const other = await jobsTenant(0);
    expect(
      await asKey(other, () =>
        Costsim.recordActual({ planHash, runId: run1, credits: 1, durationMs: 1, startedAt: at(40) }),
      ),
    ).toBe(0);
    expect((await byHash()).before.run).toBe(run2);
  });
});
