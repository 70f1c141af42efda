/** Targets, result table and misses of `npm run bench:export` (bench/export.ts). */

export const TARGETS = { csvGzip: 0.8, jsonl: 0.35, rssMb: 150, rssGrowth: 0.1 };

export interface Variant {
  name: string;
  format: "csv" | "jsonl";
  gzip: boolean;
  target: number;
}
export const VARIANTS: Variant[] = [
  { name: "csv gzip", format: "csv", gzip: true, target: TARGETS.csvGzip },
  { name: "jsonl", format: "jsonl", gzip: false, target: TARGETS.jsonl },
  { name: "jsonl gzip", format: "jsonl", gzip: true, target: TARGETS.jsonl },
];

export interface Result {
  rows: number;
  variant: Variant;
  baselineS: number;
  bestS: number;
  /** psql's runs, each just before the AOS run of the same index. */
  baseTimes: number[];
  times: number[];
  maxRssMb: number;
  bytes: number;
}

export const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

export function table(results: Result[]): void {
  const head = [
    "rows",
    "export",
    "psql rows/s",
    "AOS rows/s",
    "ratio",
    "target",
    "peak RSS MB",
    "file MB",
    "psql runs s",
    "AOS runs s",
  ];
  const lines = results.map((r) => [
    fmt(r.rows),
    r.variant.name,
    fmt(r.rows / r.baselineS),
    fmt(r.rows / r.bestS),
    `${fmt(r.baselineS / r.bestS, 2)}x`,
    `>= ${r.variant.target}x`,
    fmt(r.maxRssMb, 1),
    fmt(r.bytes / 1024 / 1024, 1),
    r.baseTimes.map((t) => t.toFixed(2)).join(" "),
    r.times.map((t) => t.toFixed(2)).join(" "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join("  ");
  console.log(`\n${row(head)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const l of lines) console.log(row(l));
}

export function misses(results: Result[]): string[] {
  const out: string[] = [];
  // The first size sets the memory reference; later sizes may grow it by rssGrowth at most.
  const firstRows = results[0]?.rows;
  const first = results.filter((r) => r.rows === firstRows);
  for (const r of results) {
    const ratio = r.baselineS / r.bestS;
    if (ratio < r.variant.target) {
      out.push(`${r.variant.name} at ${fmt(r.rows)} rows: ${ratio.toFixed(2)}x psql, target >= ${r.variant.target}x`);
    }
    if (r.rows === firstRows && r.maxRssMb > TARGETS.rssMb) {
      out.push(`${r.variant.name} at ${fmt(r.rows)} rows: peak RSS ${r.maxRssMb.toFixed(1)} MB > ${TARGETS.rssMb} MB`);
    }
    const ref = first.find((f) => f.variant === r.variant);
    if (ref && r.rows !== ref.rows && r.maxRssMb > ref.maxRssMb * (1 + TARGETS.rssGrowth)) {
      out.push(
        `${r.variant.name}: peak RSS ${r.maxRssMb.toFixed(1)} MB at ${fmt(r.rows)} rows vs ${ref.maxRssMb.toFixed(1)} MB at ${fmt(ref.rows)} (> +${TARGETS.rssGrowth * 100}%)`,
      );
    }
  }
  return out;
}
