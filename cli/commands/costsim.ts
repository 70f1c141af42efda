/**
 * `aos costsim backfill` (here) and the commands that call a running AOS (costsim-api.ts:
 * simulate, status, reset, incidents, canary-run, canary-reports, divergence).
 *
 * `aos costsim backfill`: provenance records of earlier V1/V2 comparisons (JSON or JSONL files)
 * loaded into a tenant's costsim_provenance (`source = 'backfill'`), in-process on the configured
 * DATABASE_URL as the other verbs that write rows directly (`aos failures backfill`, `aos keys`):
 * an operator's bulk load has no HTTP route, and one statement per batch beats a request per
 * record. The record's fields: cli/costsim-backfill/record.ts.
 */
import { existsSync, statSync } from "node:fs";
import { asSystem } from "../context.ts";
import { CliFailure, positiveInt, UsageError } from "../failures.ts";
import type { CommandSpec } from "../main.ts";
import { commands as apiCommands } from "./costsim-api.ts";

/** Loaded when the command runs, not for `aos --help`. */
const load = async () => ({
  Tenancy: await import("../../core/tenancy/index.ts"),
  ...(await import("../costsim-backfill/load.ts")),
});

/** Bad records printed one by one; beyond, only counted. */
const MAX_BAD_SHOWN = 50;

/**
 * Progress on stderr: a bar redrawn in place on a terminal, else a plain line at each tenth of
 * the input (and at most every 5 s otherwise), so logs of a cron or a pipe stay readable.
 */
export function progress(stream: Pick<NodeJS.WriteStream, "isTTY" | "write"> = process.stderr) {
  let lastTenth = -1;
  let lastAt = 0;
  let drawn = false;
  return {
    update({ bytes, total, records }: { bytes: number; total: number; records: number }) {
      const share = total > 0 ? Math.min(1, bytes / total) : 1;
      const now = Date.now();
      if (stream.isTTY) {
        if (now - lastAt < 100 && share < 1) return;
        lastAt = now;
        const width = 30;
        const full = Math.round(share * width);
        stream.write(
          `\r[${"#".repeat(full)}${".".repeat(width - full)}] ${(share * 100).toFixed(0).padStart(3)}%  ${records} records`,
        );
        drawn = true;
        return;
      }
      const tenth = Math.floor(share * 10);
      if (tenth === lastTenth && now - lastAt < 5000) return;
      lastTenth = tenth;
      lastAt = now;
      stream.write(`progress: ${(share * 100).toFixed(0)}% of the input, ${records} records read\n`);
    },
    end() {
      if (drawn) stream.write("\n");
    },
  };
}

export const commands: CommandSpec[] = [
  {
    name: "costsim backfill",
    usage: "costsim backfill --tenant T (--dir D | --file F) [--dry-run] [--verify] [--batch N] | --tenant T --verify",
    summary:
      "Load provenance records (JSON: one record or an array; JSONL: one a line) into the tenant's costsim_provenance as source 'backfill', de-duplicated by input hash within the input and against what is stored; bad records are reported with file:line and the rest still load; records older than COSTSIM_PROVENANCE_RETENTION_DAYS are skipped (retention would delete them). --verify alone checks every stored row of the tenant",
    options: {
      tenant: { type: "string", description: "tenant (slug or id) whose costsim_provenance gets the rows" },
      dir: { type: "string", description: "every *.json and *.jsonl file of this directory, by name" },
      file: { type: "string", description: "one .json or .jsonl file" },
      "dry-run": {
        type: "boolean",
        description: "validate and count (duplicates against the stored rows too), write nothing",
      },
      verify: {
        type: "boolean",
        description:
          "re-read the stored rows (of the input, or all the tenant's without --dir/--file) and recompute v1_hash and v2_hash from their outputs; exit 1 on any mismatch",
      },
      batch: { type: "string", description: "rows per insert statement", default: "500" },
    },
    run: ({ values }) => {
      if (typeof values.tenant !== "string") throw new UsageError("--tenant is required");
      const dir = typeof values.dir === "string" ? values.dir : undefined;
      const file = typeof values.file === "string" ? values.file : undefined;
      if (dir && file) throw new UsageError("give --dir or --file, not both");
      if (!dir && !file && values.verify !== true)
        throw new UsageError("--dir or --file is required (or --verify alone)");
      if (dir && !(existsSync(dir) && statSync(dir).isDirectory()))
        throw new CliFailure(`--dir ${dir}: no such directory`);
      if (file && !(existsSync(file) && statSync(file).isFile())) throw new CliFailure(`--file ${file}: no such file`);
      const batch = positiveInt(values.batch, "--batch", 500, 5000);
      const dryRun = values["dry-run"] === true;
      return asSystem(async () => {
        const { Tenancy, backfill, verify } = await load();
        const tenantId = await Tenancy.resolveTenant(values.tenant as string);
        let code = 0;
        let hashes: string[] | undefined;
        if (dir || file) {
          const bar = progress();
          const s = await backfill({ tenantId, dir, file, dryRun, batch, onProgress: bar.update });
          bar.end();
          for (const b of s.bad.slice(0, MAX_BAD_SHOWN)) console.log(`bad ${b.where}: ${b.issue}`);
          if (s.bad.length > MAX_BAD_SHOWN) console.log(`... and ${s.bad.length - MAX_BAD_SHOWN} more bad records`);
          const dup = s.duplicatesInInput + s.duplicatesStored;
          console.log(
            `${dryRun ? "dry run: " : ""}files ${s.files}, read ${s.read}, ${dryRun ? "would load" : "loaded"} ${s.loaded}, duplicates ${dup} (in the input ${s.duplicatesInInput}, already stored ${s.duplicatesStored}), bad ${s.bad.length}${dryRun ? " (nothing written)" : ""}`,
          );
          if (s.tooOld)
            console.log(
              `skipped ${s.tooOld} records created before ${s.retentionCutoff} (COSTSIM_PROVENANCE_RETENTION_DAYS): the CostsimSafety schedule would delete them`,
            );
          if (s.read - s.bad.length === 0) {
            console.log("nothing could be read: no valid record in the input");
            code = 1;
          }
          hashes = s.hashes;
        }
        if (values.verify === true) {
          const v = await verify(tenantId, hashes);
          for (const m of v.mismatches.slice(0, MAX_BAD_SHOWN))
            console.log(`MISMATCH ${m.inputHash} (${m.source}): ${m.issue}`);
          console.log(
            `verify: ${v.checked} stored rows checked, ${v.mismatches.length} mismatches: ${v.mismatches.length ? "FAIL" : "PASS"}`,
          );
          if (v.mismatches.length) code = 1;
        }
        return code;
      });
    },
  },
  ...apiCommands,
];
