/**
 * What `aos load-test` (cli/commands/load-test.ts) measures and checks: per claim the interval a
 * worker surely held an item, the double-claim check over them, latency percentiles.
 */
/** One claim of one item by one worker, with the interval it surely held the lease. */
export interface Attempt {
  item: string;
  worker: string;
  from: number;
  to: number;
  outcome: "done" | "lease_lost" | "error";
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Nearest-rank percentile of ascending `sorted`. */
export const pct = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) : 0;
export const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { n: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)) };
};
/** Credits compared in ten-thousandths, their precision. */
export const units = (n: number) => Math.round(n * 10_000);
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * No item held by two workers at once. A claim answered at `from` and completed with a request
 * sent at `to` surely held the lease in between, so two such intervals of one item that overlap
 * prove a double claim; so does a claim of an item already done, or a second completion.
 */
export function claimCheck(attempts: Attempt[]): Check {
  const byItem = new Map<string, Attempt[]>();
  for (const a of attempts) byItem.set(a.item, [...(byItem.get(a.item) ?? []), a]);
  let overlaps = 0;
  let twice = 0;
  for (const list of byItem.values()) {
    list.sort((x, y) => x.from - y.from);
    let heldUntil = Number.NEGATIVE_INFINITY;
    let done = false;
    for (const a of list) {
      // Claimed again while another worker surely held it, or after it was done.
      if (a.from < heldUntil || done) overlaps++;
      if (a.outcome === "done" && done) twice++;
      heldUntil = Math.max(heldUntil, a.to);
      done ||= a.outcome === "done";
    }
  }
  const lost = attempts.filter((a) => a.outcome === "lease_lost").length;
  return {
    name: "no item held by two workers at once",
    ok: overlaps === 0 && twice === 0,
    detail: `${attempts.length} claims of ${byItem.size} items, ${overlaps} overlapping, ${twice} completed twice, ${lost} leases lost`,
  };
}
