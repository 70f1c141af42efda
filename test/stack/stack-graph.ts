/**
 * Builds the SST resource graph of sst.config.ts offline, for the stack test.
 *
 * `bundleHarness()` bundles harness.ts together with SST's platform sources (TypeScript, in
 * `.sst/platform/src`) and sst.config.ts + stacks/ into one ESM file inside `.sst/platform/`, so
 * its bare imports (`@pulumi/pulumi`, `@pulumi/aws`) resolve to the platform's node_modules as
 * they do under `sst deploy`. `stackGraph()` runs it in a child process and parses the graph.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { StackGraph } from "./harness.ts";

export const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
export const PLATFORM = join(ROOT, ".sst/platform");

/** Bundles the harness; returns the path of the bundle. */
export async function bundleHarness(): Promise<string> {
  const dir = join(PLATFORM, ".aos-stack-test");
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `harness-${process.pid}.mjs`);
  const abs = (p: string) => JSON.stringify(join(ROOT, p));
  // Only @pulumi/pulumi and the harness load eagerly: SST's sources read `$app` when they
  // load, so they are imported (lazily, still bundled) once the harness has defined the globals.
  const entry = `
    import * as pulumi from "@pulumi/pulumi";
    import { main } from ${abs("test/stack/harness.ts")};
    await main({
      root: ${JSON.stringify(ROOT)},
      platform: ${JSON.stringify(PLATFORM)},
      pulumi,
      loadConfig: () => import(${abs("sst.config.ts")}),
      loadTable: () => import(${abs("functions/routes.ts")}),
      loadPlatform: async () => ({
        aws: await import("@pulumi/aws"),
        shim: await import("./src/shim/run.js"),
        sst: await import("./src/components/index.ts"),
        run: (await import("./src/auto/run.ts")).run,
      }),
    });
  `;
  await build({
    stdin: { contents: entry, resolveDir: PLATFORM, sourcefile: "aos-stack-test-entry.ts", loader: "ts" },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
    // Packages stay external and load from .sst/platform/node_modules at run time, like SST's own eval.
    plugins: [
      {
        name: "packages-external",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) =>
            a.kind === "entry-point" ? undefined : { path: a.path, external: true },
          );
        },
      },
    ],
    banner: {
      js: [
        `import { createRequire as __aosCreateRequire } from "node:module";`,
        `import { fileURLToPath as __aosFileURLToPath } from "node:url";`,
        `import { dirname as __aosDirname } from "node:path";`,
        `const require = __aosCreateRequire(import.meta.url);`,
        `const __filename = __aosFileURLToPath(import.meta.url);`,
        `const __dirname = __aosDirname(__filename);`,
      ].join("\n"),
    },
  });
  return outfile;
}

export interface GraphRun {
  code: number | null;
  graph: StackGraph | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface GraphOptions {
  stage?: string;
  /** Where the CLI stand-in looks for handler files (default: the repo root). */
  handlerRoot?: string;
  /** Routes appended to functions/routes.ts' table for this run only. */
  extraRoutes?: unknown[];
  timeoutMs?: number;
}

/** Runs the bundled harness in a child process and returns the graph it printed. */
export function stackGraph(bundle: string, opts: GraphOptions = {}): Promise<GraphRun> {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, AOS_STACK_STAGE: opts.stage ?? "test" };
  // Never let a developer's real AWS setup or secrets leak into the evaluation.
  for (const k of Object.keys(env)) if (k.startsWith("SST_") || k.startsWith("AWS_")) delete env[k];
  env.SST_SECRET_DatabaseUrl = "postgres://stack-test@db.invalid/aos";
  env.SST_SECRET_RedisUrl = "redis://redis.invalid:6379";
  if (opts.handlerRoot) env.AOS_STACK_HANDLER_ROOT = opts.handlerRoot;
  if (opts.extraRoutes) env.AOS_STACK_EXTRA_ROUTES = JSON.stringify(opts.extraRoutes);
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [bundle], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 90_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("AOS_STACK_GRAPH "));
      const graph = line ? (JSON.parse(line.slice("AOS_STACK_GRAPH ".length)) as StackGraph) : null;
      ok({ code, graph, stdout, stderr, ms: Date.now() - started });
    });
  });
}
