/**
 * The statistics of the divergence report and the dataset validation, over plain arrays: what the
 * SQL version will compute over provenance rows, written so that both can agree (quantiles
 * interpolate as Postgres' percentile_cont does; KL bins are fixed, not fitted to the data).
 *
 * KL divergence: each list is counted into the same fixed bins (lower edges below; the last bin
 * is open), each bin's share smoothed with epsilon so an empty bin is never log(0):
 *   P_i = (count_i + eps) / (n + eps * bins),   KL(P || Q) = sum P_i ln(P_i / Q_i)   (nats)
 * The counts do not depend on the order of the rows and the sum runs over bins in a fixed order,
 * so the same rows give the same score in any order; identical lists give exactly 0.
 */

/** Lower edges of the credit bins: roughly 1-2-5 steps from 0 to 10,000 credits. */
export const COST_BINS = Object.freeze([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000]);
/** Lower edges of the duration bins, in ms: 0 to an hour. */
export const DURATION_BINS_MS = Object.freeze([
  0, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
]);
/** The smoothing of empty bins. */
export const KL_EPSILON = 1e-6;

/** Counts of `values` per bin of `edges` (a value below the first edge counts in the first bin). */
export function binCounts(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length).fill(0);
  for (const v of values) {
    let i = edges.length - 1;
    while (i > 0 && v < (edges[i] as number)) i--;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

/**
 * KL(P || Q) of two lists of values over fixed bins, in nats, 6 decimals; null when either list is
 * empty (there is no distribution to compare).
 *
 * @example
 *   klDivergence([1, 2, 3], [3, 2, 1], COST_BINS); // 0
 */
export function klDivergence(
  p: readonly number[],
  q: readonly number[],
  edges: readonly number[],
  epsilon = KL_EPSILON,
): number | null {
  if (p.length === 0 || q.length === 0) return null;
  return klFromCounts(binCounts(p, edges), binCounts(q, edges), epsilon);
}

/**
 * KL(P || Q) from per-bin counts (one count per bin, both lists the same length), as
 * `klDivergence` computes it once it has counted: the divergence report's SQL counts the bins and
 * this finishes, so the same rows give the same score in SQL and in `divergence()`. Null when
 * either side counts nothing.
 *
 * @example
 *   klFromCounts([2, 1, 0], [2, 1, 0]); // 0
 */
export function klFromCounts(pc: readonly number[], qc: readonly number[], epsilon = KL_EPSILON): number | null {
  const bins = pc.length;
  let pn = 0;
  let qn = 0;
  for (let i = 0; i < bins; i++) {
    pn += pc[i] as number;
    qn += qc[i] as number;
  }
  if (pn === 0 || qn === 0) return null;
  let kl = 0;
  for (let i = 0; i < bins; i++) {
    const pi = ((pc[i] as number) + epsilon) / (pn + epsilon * bins);
    const qi = ((qc[i] as number) + epsilon) / (qn + epsilon * bins);
    kl += pi * Math.log(pi / qi);
  }
  // Rounding error may leave a tiny negative where the distributions agree.
  return Math.max(0, Math.round(kl * 1e6) / 1e6);
}

/** The q-quantile (0-1) with linear interpolation between neighbours (percentile_cont); null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

/** Rounded to `places` decimals, null kept. */
export const roundOrNull = (v: number | null, places = 4): number | null =>
  v === null ? null : Math.round(v * 10 ** places) / 10 ** places;

/**
 * Per-bin counts of V1's credits, V2's credits, V1's and V2's durations from rows grouped by the
 * packed `kl_bin` (migration 0024: ((b1*16+b2)*16+b3)*16+b4, each width_bucket over COST_BINS or
 * DURATION_BINS_MS, the bin index binCounts gives): what klFromCounts takes, and how many rows.
 */
export function klBinCounts(groups: readonly { kl_bin: number; n: number }[]): { bins: number[][]; n: number } {
  const bins = [COST_BINS, COST_BINS, DURATION_BINS_MS, DURATION_BINS_MS].map((e) =>
    new Array<number>(e.length).fill(0),
  );
  let n = 0;
  for (const g of groups) {
    n += g.n;
    const at = [(g.kl_bin >> 12) & 15, (g.kl_bin >> 8) & 15, (g.kl_bin >> 4) & 15, g.kl_bin & 15];
    at.forEach((b, i) => {
      const counts = bins[i] as number[];
      counts[b] = (counts[b] as number) + g.n;
    });
  }
  return { bins, n };
}
