/**
 * The divergence report (M6.4) over V1/V2 comparison rows, a pure function over arrays (the SQL
 * version over provenance rows comes later and should agree with it). The seed's figures:
 *
 * - `delta_p50`, `delta_p90`: quantiles of the cost delta (V2 - V1 credits) of the rows where V2
 *   answered.
 * - `kl_divergence`: KL(V1 || V2) of their credits over fixed bins (statistics.ts);
 *   `kl_divergence_duration` the same for durations.
 * - `outlier_count`: rows whose relative cost difference |V2 - V1| / max(V1, V2) is beyond both
 *   Tukey's far fence of those differences (Q3 + 3 IQR) and the drift threshold: far from the
 *   others and large in itself (when almost every row agrees, the fence alone would call a
 *   0.01-credit difference an outlier).
 * - `fail_ratio`: major_drift rows over all rows (the seed's "ratio of major drift samples");
 *   `matching_rate`: match rows over all rows (a V2 that errs does not match). `verdicts` counts
 *   every verdict, so mismatches and V2 errors are seen too.
 * - `accuracy`: V1's and V2's median absolute error against `actual` outcomes where rows carry them.
 *
 * With fewer than `minSamples` rows where V2 answered (or rows with actuals, for accuracy) every
 * statistic is null and `insufficient_data` true: no data is never a pass (argo-rollouts#1466).
 */
import type { DriftThresholds } from "./compare.ts";
import { relativeDifference } from "./compare.ts";
import type { Accuracy, Comparison, DivergenceReport } from "./schema.ts";
import { COST_BINS, DURATION_BINS_MS, klDivergence, median, quantile, roundOrNull } from "./statistics.ts";

/** Fewest compared rows a report stands on (an argument; this is the default). */
export const MIN_DIVERGENCE_SAMPLES = 10;

/** Rows of a report: comparisons, with what the run really cost and took where it ran. */
export type ComparisonRow = Pick<
  Comparison,
  "verdict" | "v1_credits" | "v2_credits" | "cost_delta" | "v1_duration_ms" | "v2_duration_ms" | "actual"
>;

function accuracyOf(
  pairs: readonly {
    estimate: { credits: number; duration_ms: number };
    actual: { credits: number; duration_ms: number };
  }[],
  minSamples: number,
): Accuracy {
  const insufficient = pairs.length < minSamples;
  const mae = (f: (p: (typeof pairs)[number]) => number) => (insufficient ? null : roundOrNull(median(pairs.map(f))));
  return {
    samples: pairs.length,
    insufficient_data: insufficient,
    cost_median_abs_error: mae((p) => Math.abs(p.estimate.credits - p.actual.credits)),
    duration_median_abs_error_ms: mae((p) => Math.abs(p.estimate.duration_ms - p.actual.duration_ms)),
  };
}

/** The outlier fence: Tukey's far fence of the relative differences (Q3 + 3 IQR), at least the drift threshold. */
export const outlierFence = (q1: number, q3: number, threshold: number): number =>
  Math.max(q3 + 3 * (q3 - q1), threshold);

function outliers(relative: readonly number[], threshold: number): number {
  const fence = outlierFence(quantile(relative, 0.25) ?? 0, quantile(relative, 0.75) ?? 0, threshold);
  return relative.filter((r) => r > fence).length;
}

/** A report's figures when fewer rows than its minimum were compared: none, and it says so (never a pass on no data). */
export const INSUFFICIENT = Object.freeze({
  insufficient_data: true as const,
  delta_p50: null,
  delta_p90: null,
  kl_divergence: null,
  kl_divergence_duration: null,
  outlier_count: null,
  fail_ratio: null,
  matching_rate: null,
});

/**
 * The divergence report of `rows`; the same rows in any order give the same report.
 *
 * @example
 *   Costsim.divergence(comparisons, { drift: 0.2, warning: 0.15 });
 *   // { sample_count: 120, insufficient_data: false, delta_p50: 0, kl_divergence: 0.0123, fail_ratio: 0.025, ... }
 */
export function divergence(
  rows: readonly ComparisonRow[],
  thresholds: DriftThresholds,
  minSamples = MIN_DIVERGENCE_SAMPLES,
): DivergenceReport {
  const verdicts = { match: 0, minor_drift: 0, major_drift: 0, mismatch: 0, v2_error: 0 };
  for (const r of rows) verdicts[r.verdict]++;
  const compared = rows.filter(
    (r): r is ComparisonRow & { v2_credits: number; v2_duration_ms: number; cost_delta: number } =>
      r.verdict !== "v2_error" && r.v2_credits !== null && r.v2_duration_ms !== null && r.cost_delta !== null,
  );
  const withActual = rows.filter((r) => r.actual !== undefined);
  const accuracy = {
    v1: accuracyOf(
      withActual.map((r) => ({
        estimate: { credits: r.v1_credits, duration_ms: r.v1_duration_ms },
        actual: r.actual as NonNullable<ComparisonRow["actual"]>,
      })),
      minSamples,
    ),
    v2: accuracyOf(
      compared
        .filter((r) => r.actual !== undefined)
        .map((r) => ({
          estimate: { credits: r.v2_credits, duration_ms: r.v2_duration_ms },
          actual: r.actual as NonNullable<ComparisonRow["actual"]>,
        })),
      minSamples,
    ),
  };
  const base = {
    sample_count: rows.length,
    compared_count: compared.length,
    min_samples: minSamples,
    verdicts,
    accuracy,
  };
  if (compared.length < minSamples) return { ...base, ...INSUFFICIENT };
  const deltas = compared.map((r) => r.cost_delta);
  return {
    ...base,
    insufficient_data: false,
    delta_p50: roundOrNull(quantile(deltas, 0.5)),
    delta_p90: roundOrNull(quantile(deltas, 0.9)),
    kl_divergence: klDivergence(
      compared.map((r) => r.v1_credits),
      compared.map((r) => r.v2_credits),
      COST_BINS,
    ),
    kl_divergence_duration: klDivergence(
      compared.map((r) => r.v1_duration_ms),
      compared.map((r) => r.v2_duration_ms),
      DURATION_BINS_MS,
    ),
    outlier_count: outliers(
      compared.map((r) => relativeDifference(r.v1_credits, r.v2_credits)),
      thresholds.drift,
    ),
    fail_ratio: roundOrNull(verdicts.major_drift / rows.length),
    matching_rate: roundOrNull(verdicts.match / rows.length),
  };
}
