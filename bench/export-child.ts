/**
 * The exporter process of `npm run bench:export`, one job per process so its peak RSS is its own.
 * The bench bundles this file as SST bundles a Lambda (bench/export-procs.ts) and runs the bundle
 * with plain node, unless --tsx asks for `node --import tsx` on the source.
 *   run <exportId> <tenantId>   StatusHistory.runExport; prints {"ms","maxRssKb","heapMb","externalMb","cpuS"}
 *   stage <parts|noupload> <tenantId> <csv|jsonl> <0|1>  stages alone (bench/export-stages.ts)
 * Configuration comes from the environment the parent set (DATABASE_URL, S3_ENDPOINT, ...).
 */
import { randomUUID } from "node:crypto";
import { withContext } from "../core/context.ts";
import { closePool } from "../core/platform/db/index.ts";
import { closeS3 } from "../core/platform/storage.ts";
import * as StatusHistory from "../core/status-history/index.ts";
import { runStage, type StageName } from "./export-stages.ts";

const [mode, ...args] = process.argv.slice(2);

const asSystem = <T>(tenantId: string, fn: () => Promise<T>) => {
  const id = randomUUID();
  return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "bench", tenantId } }, fn);
};

// Where the memory is: the peaks of V8's heap and of memory outside it (Buffers), sampled.
const peak = { heapMb: 0, externalMb: 0 };
const sample = setInterval(() => {
  const m = process.memoryUsage();
  peak.heapMb = Math.max(peak.heapMb, m.heapTotal / 1048576);
  peak.externalMb = Math.max(peak.externalMb, m.external / 1048576);
}, 100);
sample.unref();

let result: Record<string, unknown>;
const t = performance.now();
if (mode === "run") {
  const [exportId, tenantId] = args as [string, string];
  const outcome = await asSystem(tenantId, () => StatusHistory.runExport({ v: 1, exportId, tenantId }));
  if (outcome.outcome !== "done") throw new Error(`export ${exportId}: ${JSON.stringify(outcome)}`);
  result = { ms: performance.now() - t };
} else if (mode === "stage") {
  const [name, tenantId, format, gzip] = args as [StageName, string, "csv" | "jsonl", string];
  result = await asSystem(tenantId, () => runStage(name, tenantId, format, gzip === "1"));
} else {
  console.error("usage: export-child run <exportId> <tenantId> | stage <name> <tenantId> <format> <gzip>");
  process.exit(2);
}
clearInterval(sample);
const cpu = process.cpuUsage();
const cpuS = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ ...result, ...peak, cpuS, maxRssKb: process.resourceUsage().maxRSS })}\n`);
await Promise.allSettled([closePool(), closeS3()]);
process.exit(0);
