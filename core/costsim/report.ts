/**
 * The divergence report (M6.4) over the tenant's costsim_provenance rows, in SQL
 * (provenance.sql.ts), and the V2 status. The report gives what the pure `divergence()` gives on
 * the same rows: the quantiles interpolate alike (percentile_cont over float8), the KL scores come
 * from per-bin counts through the same `klFromCounts`, the outlier fence is the same figure, and
 * every statistic is null below `min_samples` compared rows (no data is never a pass).
 *
 * The quantile pass runs on one connection while the counts and the accuracy against actuals run
 * on another, in the snapshot the first exported (counts and quantiles of the same rows); each
 * transaction sets provenance.sql.ts's reportSettings.
 */
import { config } from "../config.ts";
import { outsideTransaction, query, withTx } from "../platform/db/index.ts";
import * as Tenancy from "../tenancy/index.ts";
import type { DivergenceQuery, DivergenceReply, StatusReply } from "./api-schema.ts";
import { INSUFFICIENT, MIN_DIVERGENCE_SAMPLES, outlierFence } from "./divergence.ts";
import { breakerStatus } from "./incidents.ts";
import * as sql from "./provenance.sql.ts";
import { V1_VERSION, V2_VERSION } from "./record.ts";
import type { Accuracy, DivergenceReport, Verdict } from "./schema.ts";
import { thresholds } from "./shadow-run.ts";
import { klBinCounts, klFromCounts, roundOrNull } from "./statistics.ts";

/** The window of a report without `since`: the last 7 days. */
export const DEFAULT_WINDOW_DAYS = 7;
const FAR_PAST = new Date("1970-01-01T00:00:00Z");
const FAR_FUTURE = new Date("9999-12-31T00:00:00Z");

type AccuracyRow = {
  v1_samples: number;
  v1_cost: number | null;
  v1_duration: number | null;
  v2_samples: number;
  v2_cost: number | null;
  v2_duration: number | null;
};

function accuracyOf(samples: number, cost: number | null, duration: number | null, min: number): Accuracy {
  const insufficient = samples < min;
  return {
    samples,
    insufficient_data: insufficient,
    cost_median_abs_error: insufficient ? null : roundOrNull(cost),
    duration_median_abs_error_ms: insufficient ? null : roundOrNull(duration),
  };
}

async function accuracyIn(params: unknown[], min: number) {
  const { rows } = await withTx(async () => {
    await query(sql.reportSettings);
    return query<AccuracyRow>(sql.accuracy, params);
  });
  const a = rows[0] as AccuracyRow;
  return {
    v1: accuracyOf(a.v1_samples, a.v1_cost, a.v1_duration, min),
    v2: accuracyOf(a.v2_samples, a.v2_cost, a.v2_duration, min),
  };
}

type Group = { verdict: Verdict; kl_bin: number | null; n: number; over_drift: number; rel_low: number };

/**
 * The outliers (divergence.ts's rule: a relative cost difference beyond both Q3 + 3 IQR of the
 * differences and the drift threshold) from the counting pass's groups, sorting the differences
 * only when the counts cannot bound the fence: when more than ceil(0.75 (n - 1)) compared rows
 * lie below a quarter of the threshold, both order statistics percentile_cont interpolates Q3
 * from do, so Q3 + 3 IQR <= 4 Q3 < the threshold and the fence is the threshold.
 */
async function outliersOf(groups: Group[], params: unknown[], drift: number): Promise<number> {
  let n = 0;
  let low = 0;
  let overDrift = 0;
  for (const g of groups) {
    if (g.verdict === "v2_error" || g.kl_bin === null) continue;
    n += g.n;
    low += g.rel_low;
    overDrift += g.over_drift;
  }
  if (n === 0 || low >= Math.ceil(0.75 * (n - 1)) + 1) return overDrift;
  const { rel_q } = (await query<{ rel_q: number[] | null }>(sql.relQuartiles, params)).rows[0] ?? { rel_q: null };
  const [q1, q3] = rel_q ?? [0, 0];
  const fence = outlierFence(q1 ?? 0, q3 ?? 0, drift);
  if (fence <= drift) return overDrift;
  return ((await query<{ n: number }>(sql.outliersBeyond, [...params, fence])).rows[0] as { n: number }).n;
}

/**
 * The report's passes over one snapshot. With two connections to spare, the quantile pass (its
 * sort one process's work) runs on one while the counts, the outliers and the accuracy run on
 * the other, in the snapshot the first exported; with DB_POOL_MAX 1, one after the other in one
 * transaction.
 */
async function passes(params: unknown[], drift: number) {
  const counting = async () => {
    const groups = (await query<Group>(sql.divergenceCounts, [...params, drift, drift / 4])).rows;
    const outliers = await outliersOf(groups, params, drift);
    const accuracy = (await query<AccuracyRow>(sql.accuracy, params)).rows[0] as AccuracyRow;
    return { groups, outliers, accuracy };
  };
  const quantiles = async () =>
    (await query<{ delta_q: number[] | null }>(sql.divergenceQuantiles, params)).rows[0]?.delta_q ?? null;
  return withTx(
    async () => {
      await query(sql.reportSettings);
      if (config().dbPoolMax < 2) return { deltaQ: await quantiles(), ...(await counting()) };
      const { snapshot } = (await query<{ snapshot: string }>(sql.exportSnapshot)).rows[0] as { snapshot: string };
      const beside = outsideTransaction(() =>
        withTx(
          async () => {
            await query(sql.importSnapshot(snapshot));
            await query(sql.reportSettings);
            return counting();
          },
          { isolation: "repeatable read" },
        ),
      );
      // Both settle before this transaction (the snapshot's exporter) ends.
      const [q, c] = await Promise.allSettled([quantiles(), beside]);
      if (q.status === "rejected") throw q.reason;
      if (c.status === "rejected") throw c.reason;
      return { deltaQ: q.value, ...c.value };
    },
    { isolation: "repeatable read" },
  );
}

/** The report of the tenant's rows in [since, until), calling `skill` when given. */
async function reportOf(tenantId: string, since: Date, until: Date, skill: string | null, min: number) {
  const drift = thresholds().drift;
  const p = await passes([tenantId, since, until, skill], drift);
  const verdicts = { match: 0, minor_drift: 0, major_drift: 0, mismatch: 0, v2_error: 0 };
  let samples = 0;
  for (const g of p.groups) {
    verdicts[g.verdict] += g.n;
    samples += g.n;
  }
  const compared = p.groups.filter(
    (g): g is Group & { kl_bin: number } => g.verdict !== "v2_error" && g.kl_bin !== null,
  );
  const { bins, n: comparedCount } = klBinCounts(compared);
  const a = p.accuracy;
  const accuracy = {
    v1: accuracyOf(a.v1_samples, a.v1_cost, a.v1_duration, min),
    v2: accuracyOf(a.v2_samples, a.v2_cost, a.v2_duration, min),
  };
  const base = { sample_count: samples, compared_count: comparedCount, min_samples: min, verdicts };
  if (comparedCount < min) return { ...base, ...INSUFFICIENT, accuracy } satisfies DivergenceReport;
  const [c1, c2, d1, d2] = bins as [number[], number[], number[], number[]];
  return {
    ...base,
    insufficient_data: false,
    delta_p50: roundOrNull(p.deltaQ?.[0] ?? null),
    delta_p90: roundOrNull(p.deltaQ?.[1] ?? null),
    kl_divergence: klFromCounts(c1, c2),
    kl_divergence_duration: klFromCounts(d1, d2),
    outlier_count: p.outliers,
    fail_ratio: roundOrNull(verdicts.major_drift / samples),
    matching_rate: roundOrNull(verdicts.match / samples),
    accuracy,
  } satisfies DivergenceReport;
}

/**
 * The divergence report of the caller's tenant (an admin may name another: `tenant_id`) over
 * [since, until) (default: the last 7 days), optionally only plans calling `skill`.
 *
 * @example
 *   await Costsim.divergenceReport({ skill: "voyage_embed" });
 *   // { sample_count: 120, insufficient_data: false, delta_p50: 0, kl_divergence: 0.0123, ... }
 */
export async function divergenceReport(q: DivergenceQuery): Promise<DivergenceReply> {
  const tenantId = await Tenancy.resolveTenant(q.tenant_id);
  const until = q.until ?? new Date();
  const since = q.since ?? new Date(until.getTime() - DEFAULT_WINDOW_DAYS * 86_400_000);
  // Without `until`, everything recorded up to the report (one recorded in this very millisecond too).
  const report = await reportOf(
    tenantId,
    since,
    q.until ?? FAR_FUTURE,
    q.skill ?? null,
    q.min_samples ?? MIN_DIVERGENCE_SAMPLES,
  );
  return {
    ...report,
    tenant_id: tenantId,
    since: since.toISOString(),
    until: until.toISOString(),
    skill: q.skill ?? null,
    thresholds: thresholds(),
  };
}

/** Whether V2 may be promoted: measured against actuals, and no worse than V1 on cost and duration. */
function promotionOf(a: { v1: Accuracy; v2: Accuracy }): StatusReply["promotion"] {
  const { v1, v2 } = a;
  if (v1.insufficient_data || v2.insufficient_data || v2.cost_median_abs_error === null)
    return {
      allowed: false,
      reason: `V2 must not be promoted: its error against actual outcomes is unmeasured (${v2.samples} runs with actuals, ${MIN_DIVERGENCE_SAMPLES} needed)`,
    };
  const worse: string[] = [];
  if ((v2.cost_median_abs_error ?? 0) > (v1.cost_median_abs_error ?? 0))
    worse.push(`cost ${v2.cost_median_abs_error} vs ${v1.cost_median_abs_error} credits`);
  if ((v2.duration_median_abs_error_ms ?? 0) > (v1.duration_median_abs_error_ms ?? 0))
    worse.push(`duration ${v2.duration_median_abs_error_ms} vs ${v1.duration_median_abs_error_ms} ms`);
  if (worse.length > 0)
    return {
      allowed: false,
      reason: `V2 must not be promoted: its median absolute error against actuals is worse than V1's (${worse.join("; ")})`,
    };
  return {
    allowed: true,
    reason: "V2's median absolute error against actuals is no worse than V1's on cost and duration",
  };
}

/**
 * The V2 sandbox's status for the caller's tenant: on or off, versions, thresholds, the breaker
 * (every tenant's: the drift breaker, breaker.ts), its provenance rows by verdict, accuracy against actuals and promotion.
 *
 * @example
 *   await Costsim.status(); // { sandbox: true, counts: { match: 118, ... }, promotion: { allowed: false, ... } }
 */
export async function status(): Promise<StatusReply> {
  const tenantId = await Tenancy.resolveTenant(undefined);
  const c = config().costsim;
  const { rows } = await query<{ verdict: Verdict; n: number; last_at: Date }>(sql.verdictCounts, [tenantId]);
  const counts = { match: 0, minor_drift: 0, major_drift: 0, mismatch: 0, v2_error: 0 };
  let last: Date | null = null;
  for (const r of rows) {
    counts[r.verdict] = r.n;
    if (!last || r.last_at > last) last = r.last_at;
  }
  const [accuracy, breaker] = await Promise.all([
    accuracyIn([tenantId, FAR_PAST, FAR_FUTURE, null], MIN_DIVERGENCE_SAMPLES),
    breakerStatus(),
  ]);
  return {
    sandbox: c.v2Sandbox,
    provenance: { enabled: c.provenanceEnabled, compress: c.provenanceCompress },
    versions: { v1: V1_VERSION, v2: V2_VERSION },
    thresholds: { ...thresholds(), schema_errors: c.schemaErrorThreshold },
    breaker,
    counts,
    total: Object.values(counts).reduce((s, n) => s + n, 0),
    last_comparison_at: last ? last.toISOString() : null,
    accuracy,
    promotion: promotionOf(accuracy),
  };
}
