/**
 * `npm run bench:cold-start`: bundle every handler of functions/routes.ts the way SST does, and
 * measure what a cold start pays for it: bundle size and the time a fresh `node` takes to import
 * the bundle, against a bundle of `pg` alone built and timed in the same run (the baseline).
 *
 * Bundling as SST 4.17.1 does for a nodejs function (pkg/runtime/node/build.go, with the
 * `nodejs: { format: "esm", minify: true, splitting: true }` of stacks/function.ts): esbuild, bundle, platform
 * node, ESM, target esnext, minify, keepNames, mainFields module/main, the createRequire banner,
 * and external = only `sharp` and `pg-native`. The AWS SDK is NOT external: SST bundles it (the
 * copy in the Lambda runtime is not used unless `nodejs.install` / `esbuild.external` say so).
 *
 * Budget of every handler (exit code 1 on any miss, issue 13): at most 400 KB loaded at import
 * (the entry chunk and its static imports), at most 3.0x the import cost of `pg` alone (median
 * wall-clock time of a fresh `node` importing it, interleaved with the baseline), at most 1 MB
 * with every chunk it can load (dynamic imports included: the AWS SDK, Neon's driver). A handler
 * file that is missing, does not build, does not import, lacks its export, or opens a network
 * connection while being imported fails too. What a bundle may contain (which domains, which AWS
 * clients) is test/unit/handler-bundles.test.ts's business.
 *
 * Flags: --runs N (timed imports per bundle, default 7; the median is reported), --keep (keep
 * the bundles in their temp dir).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type BuildOptions, build, type Metafile } from "esbuild";
import { fallback, handlerFile, type LinkName, queues, routeKey, routes, schedules } from "../functions/routes.ts";

const KB = 1024;
export const limits = { importBytes: 400 * KB, importRatio: 3.0, allBytes: 1024 * KB };
const root = resolve(import.meta.dirname, "..");

const args = process.argv.slice(2);
const runs = Math.max(1, Number(args[args.indexOf("--runs") + 1]) || 7);
const keep = args.includes("--keep");

/** esbuild options of SST's node runtime (see the header). */
export const sstOptions: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "esnext",
  minify: true,
  keepNames: true,
  // stacks/function.ts sets `nodejs.splitting: true`: dynamic imports (the AWS SDK, prom-client,
  // Neon's driver) become chunks loaded on first use, not at cold start.
  splitting: true,
  mainFields: ["module", "main"],
  external: ["sharp", "pg-native"],
  metafile: true,
  sourcemap: false,
  logLevel: "silent",
  absWorkingDir: root,
  banner: {
    js: [
      `import { createRequire as topLevelCreateRequire } from 'module';`,
      `const require = topLevelCreateRequire(import.meta.url);`,
      `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
      `const __filename = topLevelFileUrlToPath(import.meta.url)`,
      `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
    ].join("\n"),
  },
};

export interface Entry {
  kind: "http" | "queue" | "cron" | "baseline";
  name: string;
  file: string;
  exportName: string;
  links: readonly LinkName[];
}
export interface Built extends Entry {
  out?: string;
  /** Bytes loaded by importing the handler (entry chunk and its static imports). */
  bytes?: number;
  /** Bytes of every chunk the handler can load (dynamic imports included). */
  lazyBytes?: number;
  /** Bytes loaded once it sends to SQS (import-time code plus the SQS client's chunks). */
  sendBytes?: number;
  top?: [string, number][];
  externals?: string[];
  /** Shortest import chain from the entry to the AWS SDK, when the bundle has it. */
  sdkChain?: string[];
  /** Misses that fail the run. */
  problems: string[];
  /** Worth knowing, not a failure. */
  notes: string[];
  times: number[];
  /** CPU time (user + system) of each timed import, printed beside the wall-clock time. */
  cpu: number[];
}

function entries(): Entry[] {
  const list: Entry[] = [];
  const add = (kind: Entry["kind"], name: string, handler: string, links: readonly LinkName[] = []) =>
    list.push({
      kind,
      name,
      file: handlerFile(handler),
      exportName: handler.slice(handler.lastIndexOf(".") + 1),
      links,
    });
  for (const r of routes) add("http", routeKey(r), r.handler, r.links);
  add("http", "$default (fallback)", fallback.handler, []);
  for (const q of queues) add("queue", q.name, q.handler, q.links);
  for (const s of schedules) add("cron", s.name, s.handler, s.links);
  return list;
}

/** Bytes in the bundle by package (`node_modules/<pkg>`) or, for our code, by top folder. */
function byPackage(meta: Metafile, outs: Set<string>): [string, number][] {
  const sizes = new Map<string, number>();
  for (const output of [...outs].map((o) => meta.outputs[o]).filter((o) => o !== undefined)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? `(app) ${path.split("/").slice(0, 2).join("/")}`;
      sizes.set(pkg, (sizes.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

/** Outputs reachable from `start`: through static imports only, or through dynamic ones too. */
export function closure(meta: Metafile, start: string, dynamic: boolean): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const at = todo.pop() as string;
    if (seen.has(at) || !meta.outputs[at]) continue;
    seen.add(at);
    for (const imp of meta.outputs[at].imports) {
      if (imp.kind === "import-statement" || (dynamic && imp.kind === "dynamic-import")) todo.push(imp.path);
    }
  }
  return seen;
}

const bytesOf = (meta: Metafile, outs: Set<string>) => [...outs].reduce((n, o) => n + (meta.outputs[o]?.bytes ?? 0), 0);
const hasPkg = (meta: Metafile, outs: Set<string>, test: (pkg: string) => boolean) =>
  [...outs].some((o) => Object.keys(meta.outputs[o]?.inputs ?? {}).some((i) => test(i)));

export async function bundle(e: Entry, dir: string, index: number): Promise<Built> {
  const b: Built = { ...e, problems: [], notes: [], times: [], cpu: [] };
  const outdir = join(dir, `${index}-${e.file.replace(/[/.]/g, "_")}`);
  let entryFile = join(root, e.file);
  if (e.kind === "baseline") {
    // Inside the repository, so `pg` resolves from its node_modules.
    const at = join(root, ".aos", "bench");
    mkdirSync(at, { recursive: true });
    entryFile = join(at, "pg-only.mjs");
    writeFileSync(entryFile, 'import pg from "pg";\nexport default pg;\n');
  } else if (!existsSync(entryFile)) {
    b.problems.push("handler file missing");
    return b;
  }
  try {
    const result = await build({ ...sstOptions, entryPoints: [entryFile], outdir, entryNames: "handler" });
    const meta = result.metafile as Metafile;
    const entryOut = Object.keys(meta.outputs).find((o) => meta.outputs[o]?.entryPoint && o.endsWith("handler.js"));
    if (!entryOut) throw new Error("no entry output");
    const atImport = closure(meta, entryOut, false);
    const everything = closure(meta, entryOut, true);
    const sqsOuts = [...everything].filter((o) =>
      Object.keys(meta.outputs[o]?.inputs ?? {}).some((i) => i.includes("node_modules/@aws-sdk/client-sqs/")),
    );
    // What a send to SQS loads: the import-time code plus the chunks the SQS client needs.
    const whenSending = new Set([...atImport, ...sqsOuts.flatMap((o) => [...closure(meta, o, false)])]);
    const pkgs = byPackage(meta, atImport);
    b.out = join(root, entryOut);
    b.bytes = bytesOf(meta, atImport);
    b.lazyBytes = bytesOf(meta, everything);
    b.sendBytes = sqsOuts.length ? bytesOf(meta, whenSending) : undefined;
    b.top = pkgs.slice(0, 5);
    b.externals = [
      ...new Set(Object.values(meta.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path))),
    ].filter((p) => !p.startsWith("<") && !isBuiltin(p));
    const sdkAtImport = hasPkg(meta, atImport, (i) => i.includes("node_modules/@aws-sdk/"));
    const sdkAnywhere = hasPkg(meta, everything, (i) => i.includes("node_modules/@aws-sdk/"));
    if (sdkAtImport && e.kind !== "baseline") {
      b.sdkChain = importChain(meta, e.file, (p) => p.includes("node_modules/@aws-sdk/"));
    }
    if (sqsOuts.length) b.notes.push(`can send to SQS: ${kb(b.sendBytes)} KB loaded when it does`);
    if (e.kind !== "baseline" && sdkAtImport) {
      b.problems.push("loads the AWS SDK at import (it belongs in a chunk loaded on first use)");
    } else if (e.kind !== "baseline" && sdkAnywhere && !e.links.length) {
      b.notes.push("has a lazy AWS SDK chunk it has no IAM access for (never loaded on its paths)");
    }
  } catch (err) {
    b.problems.push(`build failed: ${(err as Error).message.split("\n")[0]}`);
  }
  return b;
}

/** Breadth-first over the metafile's import graph: the shortest path from `from` to a match. */
function importChain(meta: Metafile, from: string, match: (path: string) => boolean): string[] | undefined {
  const prev = new Map<string, string>([[from, ""]]);
  const queue = [from];
  while (queue.length) {
    const at = queue.shift() as string;
    if (match(at)) {
      const chain = [at];
      for (let p = prev.get(at); p; p = prev.get(p)) chain.unshift(p);
      return chain.map((p) => p.replace(/^.*node_modules\//, ""));
    }
    for (const imp of meta.inputs[at]?.imports ?? []) {
      if (!prev.has(imp.path) && meta.inputs[imp.path]) {
        prev.set(imp.path, at);
        queue.push(imp.path);
      }
    }
  }
  return undefined;
}

const builtins = new Set((await import("node:module")).builtinModules.flatMap((m) => [m, m.replace(/^node:/, "")]));
function isBuiltin(p: string): boolean {
  const bare = p.replace(/^node:/, "");
  return builtins.has(bare) || builtins.has(bare.split("/")[0] ?? "");
}

// Runs in a fresh node: records any socket connect started while (or just after) importing.
const probe = `
import net from "node:net";
const opened = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...a) {
  // net.connect() hands over its normalized [options, callback] array.
  const first = Array.isArray(a[0]) ? a[0][0] : a[0];
  const o = first && typeof first === "object" ? first : { port: first, host: a[1] };
  opened.push(o.path ?? ((o.host ?? "localhost") + ":" + o.port));
  return connect.apply(this, a);
};
const t = performance.now();
const c = process.cpuUsage();
let m, error;
try { m = await import(process.argv[1]); } catch (e) { error = String(e && e.message || e).split("\\n")[0]; }
const ms = performance.now() - t;
const used = process.cpuUsage(c);
const cpuMs = (used.user + used.system) / 1000;
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(JSON.stringify({ ms, cpuMs, error, exportType: m && typeof m[process.argv[2]], opened }));
process.exit(0);
`;

// Nothing reachable: a module that connects at import shows up in `opened`, and touches nothing.
const childEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  STAGE: "bench",
  LOG_LEVEL: "silent",
  DATABASE_URL: "postgres://bench@127.0.0.1:9/bench",
  REDIS_URL: "redis://127.0.0.1:9",
  AWS_REGION: "us-east-1",
};

export interface ImportResult {
  ms: number;
  cpuMs?: number;
  error?: string;
  exportType?: string;
  opened: string[];
}
/** Import `file` in a fresh node and report the time taken, the export's type and any connects. */
export function timeImport(file: string, exportName: string): Promise<ImportResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", probe, pathToFileURL(file).href, exportName], {
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", fail);
    child.on("close", () => {
      try {
        done(JSON.parse(out) as ImportResult);
      } catch {
        done({ ms: Number.NaN, error: `import process failed: ${err.split("\n")[0]}`, opened: [] });
      }
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const kb = (n?: number) => (n === undefined ? "-" : (n / KB).toFixed(1));

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "aos-cold-start-"));
  const sstVersion = (
    JSON.parse(readFileSync(join(root, "node_modules/sst/package.json"), "utf8")) as { version: string }
  ).version;
  console.log(
    `cold start bench: node ${process.version}, ${runs} timed imports per bundle (median), bundles in ${dir}`,
  );
  console.log(
    `esbuild as SST ${sstVersion} bundles nodejs functions: esm, platform node, target esnext, minify, keepNames, ` +
      "external only sharp + pg-native -> the AWS SDK is bundled, not taken from the Lambda runtime",
  );

  const list: Entry[] = [
    { kind: "baseline", name: "pg only", file: "(pg)", exportName: "default", links: [] },
    ...entries(),
  ];
  const built = await Promise.all(list.map((e, i) => bundle(e, dir, i)));
  const timed = built.filter((b) => b.out);

  // Warm the file cache once, then interleave the timed runs so drift hits every bundle alike.
  for (const b of timed) await timeImport(b.out as string, b.exportName);
  for (let r = 0; r < runs; r++) {
    for (const b of timed) {
      const res = await timeImport(b.out as string, b.exportName);
      if (res.error) {
        if (!b.problems.some((p) => p.startsWith("import failed"))) b.problems.push(`import failed: ${res.error}`);
        continue;
      }
      b.times.push(res.ms);
      if (res.cpuMs !== undefined) b.cpu.push(res.cpuMs);
      if (r === 0 && b.kind !== "baseline" && res.exportType !== "function") {
        b.problems.push(`export "${b.exportName}" is ${res.exportType}, not a function`);
      }
      if (r === 0 && res.opened.length) b.problems.push(`opens connections at import: ${res.opened.join(", ")}`);
    }
  }

  const baseline = built[0] as Built;
  const baseMs = median(baseline.times);
  if (!Number.isFinite(baseMs)) {
    console.error(`baseline (pg only) did not import: ${baseline.problems.join("; ")}`);
    return 1;
  }

  const rows: string[][] = [];
  let failures = 0;
  const baseCpu = median(baseline.cpu);
  for (const b of built) {
    const ms = median(b.times);
    const ratio = ms / baseMs;
    const misses = missesOf(b, ratio);
    const verdict = b.kind === "baseline" ? "baseline" : misses.length ? "FAIL" : "PASS";
    if (verdict === "FAIL") failures++;
    const cpuRatio = median(b.cpu) / baseCpu;
    rows.push([
      b.kind === "baseline" ? "pg only (baseline)" : `${b.kind} ${b.name}`,
      kb(b.bytes),
      kb(b.lazyBytes),
      Number.isFinite(ms) ? ms.toFixed(1) : "-",
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "-",
      Number.isFinite(cpuRatio) ? `${cpuRatio.toFixed(2)}x` : "-",
      verdict,
      [...misses, ...b.notes.map((n) => `(note) ${n}`)].join("; "),
    ]);
  }
  printTable(["handler", "KB at import", "KB all chunks", "import ms", "vs pg", "cpu vs pg", "result", "why"], rows);

  console.log("\nlargest inputs per bundle (KB in the minified output):");
  for (const b of built) {
    if (!b.top) continue;
    const ext = b.externals?.length ? `   [external at run time: ${b.externals.join(", ")}]` : "";
    console.log(
      `  ${b.kind === "baseline" ? "pg only" : b.file}: ${b.top.map(([p, n]) => `${p} ${kb(n)}`).join(", ")}${ext}`,
    );
    if (b.sdkChain) console.log(`      AWS SDK comes in via ${b.sdkChain.join(" -> ")}`);
  }
  console.log(
    `\nbudget of every handler: <= ${kb(limits.importBytes)} KB at import, <= ${limits.importRatio}x pg's import time ` +
      `(vs pg; cpu vs pg is the CPU time of the same imports, for reading a noisy machine), ` +
      `<= ${kb(limits.allBytes)} KB with every chunk; missing handler files fail`,
  );
  console.log(failures ? `${failures} handler(s) FAIL` : "all handlers PASS");
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return failures ? 1 : 0;
}

/** Why a built handler misses its budget (empty = PASS); `ratio` is its import time over pg's. */
export function missesOf(b: Pick<Built, "kind" | "bytes" | "lazyBytes" | "problems">, ratio: number): string[] {
  const misses = [...b.problems];
  if (b.kind === "baseline" || b.bytes === undefined) return misses;
  if (b.bytes > limits.importBytes) misses.push(`> ${kb(limits.importBytes)} KB at import (${kb(b.bytes)})`);
  if (!(ratio <= limits.importRatio)) misses.push(`> ${limits.importRatio}x pg import time`);
  const all = Math.max(b.bytes, b.lazyBytes ?? 0);
  if (all > limits.allBytes) misses.push(`> ${kb(limits.allBytes)} KB with every chunk (${kb(all)})`);
  return misses;
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 1 && i <= 5 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  console.log(`\n${line(head)}`);
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

// Run when executed (`npm run bench:cold-start`); test/unit/cold-start.test.ts imports the probe.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  process.exitCode = await main();
