/**
 * The divergence report (core/costsim/divergence.ts) and its statistics: KL over fixed bins
 * (deterministic, order-independent, 0 for identical distributions), quantiles as
 * percentile_cont, the seed's figures, accuracy against actual outcomes, and insufficient_data
 * (never a pass) on too few rows.
 */
import { describe, expect, it } from "vitest";
import * as Costsim from "../../core/costsim/index.ts";

const T = { drift: 0.2, warning: 0.15 };

/** A comparison row: V1 and V2 credits and durations, the verdict, actuals when given. */
function row(
  v1: number,
  v2: number | null,
  verdict: Costsim.Verdict = "match",
  actual?: { credits: number; duration_ms: number },
) {
  return {
    verdict,
    v1_credits: v1,
    v2_credits: v2,
    cost_delta: v2 === null ? null : Math.round((v2 - v1) * 10_000) / 10_000,
    v1_duration_ms: 1000,
    v2_duration_ms: v2 === null ? null : 1000,
    ...(actual ? { actual } : {}),
  };
}

/** A seeded shuffle (mulberry32), so a failure reproduces. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("KL divergence over fixed bins", () => {
  const p = [1, 1.5, 3, 3, 7, 12, 40, 40, 90, 600];
  const q = [1, 2.5, 2.5, 4, 4, 8, 60, 300, 2500, 9000];

  it("is 0 for identical distributions, whatever the order", () => {
    expect(Costsim.klDivergence(p, p, Costsim.COST_BINS)).toBe(0);
    expect(Costsim.klDivergence(p, shuffled(p, 7), Costsim.COST_BINS)).toBe(0);
  });

  it("is positive for different ones, the same for the same rows in any order, and asymmetric", () => {
    const kl = Costsim.klDivergence(p, q, Costsim.COST_BINS) as number;
    expect(kl).toBeGreaterThan(0.1);
    for (const seed of [1, 2, 3, 4, 5])
      expect(Costsim.klDivergence(shuffled(p, seed), shuffled(q, seed + 10), Costsim.COST_BINS)).toBe(kl);
    expect(Costsim.klDivergence(q, p, Costsim.COST_BINS)).not.toBe(kl);
  });

  it("is KL(P || Q) in nats of the binned shares, epsilon-smoothed", () => {
    // Credits 1 and 2 fall in the bins [1, 2) and [2, 5): P = 2/4, 2/4; Q = 1/4, 3/4; 12 bins empty in both.
    const [eps, bins, n] = [Costsim.KL_EPSILON, Costsim.COST_BINS.length, 4];
    const share = (count: number) => (count + eps) / (n + eps * bins);
    const expected = share(2) * Math.log(share(2) / share(1)) + share(2) * Math.log(share(2) / share(3));
    expect(Costsim.klDivergence([1, 1, 2, 2], [1, 2, 2, 2], Costsim.COST_BINS)).toBe(Math.round(expected * 1e6) / 1e6);
    expect(expected).toBeCloseTo(0.5 * Math.log(4 / 3), 5);
  });

  it("counts within a bin as the same: only the bins matter", () => {
    expect(Costsim.klDivergence([1, 1.1, 1.9], [1.5, 1.5, 1.5], Costsim.COST_BINS)).toBe(0);
    expect(Costsim.klDivergence([1, 1.1, 1.9], [2, 2, 2], Costsim.COST_BINS)).toBeGreaterThan(0);
  });

  it("smooths empty bins (finite) and has no answer for an empty list", () => {
    expect(Number.isFinite(Costsim.klDivergence([1], [10_000], Costsim.COST_BINS))).toBe(true);
    expect(Costsim.klDivergence([], [1], Costsim.COST_BINS)).toBeNull();
  });
});

describe("quantile", () => {
  it("interpolates between neighbours as percentile_cont does", () => {
    expect(Costsim.quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(Costsim.quantile([4, 1, 3, 2], 0.9)).toBeCloseTo(3.7, 10);
    expect(Costsim.quantile([5], 0.9)).toBe(5);
    expect(Costsim.quantile([], 0.5)).toBeNull();
  });
});

describe("the divergence report", () => {
  it("says insufficient_data, with no figure, on too few compared rows: never a pass on no data", () => {
    for (const rows of [[], Array.from({ length: 9 }, () => row(1, 1))]) {
      const r = Costsim.divergence(rows, T);
      expect(r).toMatchObject({ insufficient_data: true, sample_count: rows.length, min_samples: 10 });
      for (const k of [
        "delta_p50",
        "delta_p90",
        "kl_divergence",
        "outlier_count",
        "fail_ratio",
        "matching_rate",
      ] as const)
        expect(r[k], k).toBeNull();
    }
    // V2 errors are rows but not comparisons: 20 rows, 5 compared.
    const errs = [
      ...Array.from({ length: 15 }, () => row(1, null, "v2_error")),
      ...Array.from({ length: 5 }, () => row(1, 1)),
    ];
    expect(Costsim.divergence(errs, T)).toMatchObject({ insufficient_data: true, sample_count: 20, compared_count: 5 });
    expect(
      Costsim.divergence(
        Array.from({ length: 3 }, () => row(1, 1)),
        T,
        3,
      ).insufficient_data,
    ).toBe(false);
  });

  it("gives the seed's figures", () => {
    const rows = [
      ...Array.from({ length: 14 }, () => row(10, 10)),
      row(10, 11, "minor_drift"),
      row(10, 12, "major_drift"),
      row(10, 40, "major_drift"),
      row(10, 8, "minor_drift"),
      row(10, 9),
      row(10, null, "v2_error"),
    ];
    const r = Costsim.divergence(rows, T);
    expect(r).toMatchObject({
      sample_count: 20,
      compared_count: 19,
      insufficient_data: false,
      verdicts: { match: 15, minor_drift: 2, major_drift: 2, mismatch: 0, v2_error: 1 },
      delta_p50: 0,
      fail_ratio: 0.1,
      matching_rate: 0.75,
    });
    // Deltas sorted: -2, -1, 0 x 14, 1, 2, 30; the 0.9 quantile is at 16.2: 1 + 0.2 x (2 - 1).
    expect(r.delta_p90).toBe(1.2);
    // Relative differences 0 x 14, 1/11, 1/10, 2/12, 2/10, 30/40: Q1 0, Q3 0.045, Tukey's far fence 0.18,
    // below the drift threshold 0.2, so the bar is 0.2 and 30/40 alone is beyond it (2/10 is not).
    expect(r.outlier_count).toBe(1);
    expect(r.kl_divergence).toBeGreaterThan(0);
  });

  it("gives the same report for the same rows in any order", () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      row(1 + (i % 7), 1 + ((i * 3) % 11), i % 5 ? "match" : "minor_drift"),
    );
    const r = Costsim.divergence(rows, T);
    for (const seed of [11, 12, 13]) expect(Costsim.divergence(shuffled(rows, seed), T)).toEqual(r);
  });

  it("measures V1 and V2 against actual outcomes where rows carry them", () => {
    const rows = Array.from({ length: 12 }, (_, i) =>
      row(10, 12, "major_drift", { credits: 12, duration_ms: 1000 + i }),
    );
    const r = Costsim.divergence(rows, T);
    expect(r.accuracy.v1).toEqual({
      samples: 12,
      insufficient_data: false,
      cost_median_abs_error: 2,
      duration_median_abs_error_ms: 5.5,
    });
    expect(r.accuracy.v2).toMatchObject({ samples: 12, cost_median_abs_error: 0 });
    const none = Costsim.divergence(
      rows.map(({ actual, ...rest }) => rest),
      T,
    );
    expect(none.accuracy.v1).toEqual({
      samples: 0,
      insufficient_data: true,
      cost_median_abs_error: null,
      duration_median_abs_error_ms: null,
    });
  });
});
