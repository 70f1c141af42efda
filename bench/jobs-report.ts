/**
 * Measuring aids and the report of `npm run bench:jobs`: where the database sessions of a run
 * spent their time (sampled from pg_stat_activity), the variants, the targets and the table.
 */
import pg from "pg";

export const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

export type VariantId = "a" | "b" | "c" | "d" | "e_bare" | "e_aos" | "e_lease";
export interface Variant {
  id: VariantId;
  name: string;
  side: "bare" | "aos";
  tenants: "all" | 1;
  batched: boolean;
  /** Bare SQL only: claim with a lease in one statement, finish in a second transaction. */
  lease?: boolean;
}
export const VARIANTS: Variant[] = [
  { id: "a", name: "bare SQL per item, 10 tenants", side: "bare", tenants: "all", batched: false },
  { id: "b", name: "AOS per item, 10 tenants", side: "aos", tenants: "all", batched: false },
  { id: "c", name: "AOS per item, 1 tenant", side: "aos", tenants: 1, batched: false },
  { id: "d", name: "bare SQL per item, 1 tenant (naive debit)", side: "bare", tenants: 1, batched: false },
  { id: "e_bare", name: "bare SQL batched", side: "bare", tenants: "all", batched: true },
  { id: "e_aos", name: "AOS batched claims", side: "aos", tenants: "all", batched: true },
  { id: "e_lease", name: "bare SQL batched, with a lease", side: "bare", tenants: "all", batched: true, lease: true },
];

/** Ratios of best rates; `min` undefined: shown for information. */
export const RATIOS: { label: string; num: VariantId; den: VariantId; min?: number }[] = [
  { label: "b/a  AOS per item vs bare SQL, 10 tenants", num: "b", den: "a", min: 1.0 },
  { label: "c/b  AOS 1 tenant vs AOS 10 tenants", num: "c", den: "b", min: 0.9 },
  { label: "d/a  naive debit 1 tenant vs 10 tenants", num: "d", den: "a" },
  { label: "c/d  AOS 1 tenant vs naive debit 1 tenant", num: "c", den: "d" },
  { label: "e    AOS batched vs bare SQL batched", num: "e_aos", den: "e_bare", min: 0.6 },
  { label: "e_l  AOS batched vs bare batched with a lease", num: "e_aos", den: "e_lease" },
  { label: "     bare batched: with a lease vs without", num: "e_lease", den: "e_bare" },
];

export interface Measured {
  seconds: number;
  nodeCpuS: number;
  pgCpuS: number;
  waits: [string, number][];
}

/**
 * Samples the bench database's client sessions every 20 ms: an active session is on CPU (no
 * wait event) or waiting (Lock:transactionid = a row lock, IO:WALSync = commit flush ...); an
 * idle-in-transaction one waits for its client (node). Shares of all session samples.
 */
export async function waitSampler(url: string): Promise<{ stop(): Promise<[string, number][]> }> {
  const c = new pg.Client({ connectionString: url, application_name: "bench-sampler" });
  await c.connect();
  c.on("error", () => {});
  const tally = new Map<string, number>();
  let total = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const { rows } = await c.query<{ state: string | null; w: string | null }>(
        `select state, wait_event_type || ':' || wait_event as w from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
           and application_name <> 'bench-sampler'`,
      );
      for (const r of rows) {
        const k =
          r.state === "active"
            ? (r.w ?? "CPU")
            : r.state === "idle in transaction"
              ? "idle in tx (node)"
              : r.state === "idle"
                ? "idle (node)"
                : (r.state ?? "?");
        tally.set(k, (tally.get(k) ?? 0) + 1);
        total++;
      }
    } catch {
      // A missed sample is no loss.
    } finally {
      busy = false;
    }
  }, 20);
  return {
    async stop() {
      clearInterval(timer);
      await c.end().catch(() => {});
      return [...tally]
        .map(([k, n]) => [k, total ? n / total : 0] as [string, number])
        .sort((x, y) => y[1] - x[1])
        .slice(0, 5);
    },
  };
}

export const waitLine = (w: [string, number][]) => w.map(([k, s]) => `${k} ${(s * 100).toFixed(0)}%`).join(", ");

/** The result table and the targets; returns the targets missed. */
export function report(items: number, results: Map<VariantId, Measured[]>): string[] {
  const best = (id: VariantId) => Math.min(...(results.get(id) ?? []).map((r) => r.seconds));
  const rate = (id: VariantId) => items / best(id);
  const head = ["variant", "items/s (best)", "runs s"];
  const rows = VARIANTS.filter((v) => results.has(v.id)).map((v) => [
    `${v.id.padEnd(6)} ${v.name}`,
    fmt(rate(v.id)),
    (results.get(v.id) ?? []).map((r) => r.seconds.toFixed(2)).join(" "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  console.log(`\n${line(head)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const r of rows) console.log(line(r));

  const missed: string[] = [];
  console.log("\nratios of best rates:");
  for (const r of RATIOS) {
    if (!results.has(r.num) || !results.has(r.den)) continue;
    const x = rate(r.num) / rate(r.den);
    const verdict = r.min === undefined ? "(information)" : x >= r.min ? `PASS (>= ${r.min}x)` : `FAIL (< ${r.min}x)`;
    // Three decimals: 0.998 printed as "1.00x FAIL" read like a pass.
    console.log(`  ${r.label.padEnd(45)} ${x.toFixed(3)}x  ${verdict}`);
    if (r.min !== undefined && x < r.min) missed.push(`${r.label}: ${x.toFixed(3)}x, target >= ${r.min}x`);
  }
  return missed;
}
