/**
 * Where an export's time goes, for `npm run bench:export` (run when a target is missed, or with
 * --profile): per format, psql with the worker's exact SELECT (the Postgres side of the cost),
 * then each stage alone in a child process (bench/export-stages.ts), best of `runs` each.
 */
import { copySql } from "../core/status-history/exports.sql.ts";
import { type Exporter, psqlCopy, runChild } from "./export-procs.ts";

interface ProfileOptions {
  exporter: Exporter;
  tenantId: string;
  rows: number;
  runs: number;
  env: NodeJS.ProcessEnv;
  url: string;
  say: (m: string) => void;
}

/**
 * The worker's COPY as one psql `\copy` line to /dev/null, the tenant inlined (psql's \copy takes
 * no parameters; the id is a uuid we made).
 */
export function psqlExact(format: "csv" | "jsonl", tenantId: string): string {
  return copySql(format, `h.tenant_id = '${tenantId}'`)
    .replace(/\s+/g, " ")
    .replace(/^copy /, "")
    .replace(/ to stdout with /, " to /dev/null with ");
}

const best = (xs: number[]) => Math.min(...xs);

export async function profile(o: ProfileOptions): Promise<void> {
  const variants = [
    { name: "csv gzip", format: "csv", gzip: true },
    { name: "jsonl", format: "jsonl", gzip: false },
    { name: "jsonl gzip", format: "jsonl", gzip: true },
  ] as const;
  for (const v of variants) {
    const psql: number[] = [];
    const parts: Record<string, number>[] = [];
    const noUpload: number[] = [];
    for (let r = 0; r < o.runs; r++) {
      psql.push(await psqlCopy(o.url, psqlExact(v.format, o.tenantId), true));
      parts.push(await runChild(o.exporter, "stage", ["parts", o.tenantId, v.format, v.gzip ? "1" : "0"], o.env));
      const n = await runChild<Record<string, number>>(
        o.exporter,
        "stage",
        ["noupload", o.tenantId, v.format, v.gzip ? "1" : "0"],
        o.env,
      );
      noUpload.push(n.noUploadS ?? Number.NaN);
    }
    const stage = (k: string) => best(parts.map((p) => p[k] ?? Number.NaN));
    const mb = (k: string) => ((parts[0]?.[k] ?? 0) / 1024 / 1024).toFixed(0);
    const rate = (s: number) => `${Math.round(o.rows / s).toLocaleString("en-US")} rows/s`;
    o.say(
      `${v.name}: psql with the worker's SELECT ${best(psql).toFixed(2)} s (${rate(best(psql))}); ` +
        `node COPY alone ${stage("copyS").toFixed(2)} s (${mb("rawBytes")} MB); ` +
        (v.gzip ? `gzip -1 alone ${stage("gzipS").toFixed(2)} s (-> ${mb("outBytes")} MB); ` : "") +
        `sha256 alone ${stage("hashS").toFixed(2)} s; upload alone ${stage("uploadS").toFixed(2)} s; ` +
        `COPY+${v.gzip ? "gzip+" : ""}sha256 streaming, no upload ${best(noUpload).toFixed(2)} s (${rate(best(noUpload))})`,
    );
  }
}
