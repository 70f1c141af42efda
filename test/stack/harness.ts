/**
 * The program run in a child process by the stack test (see stack-graph.ts, which bundles it
 * with SST's platform sources into `.sst/platform/`). It evaluates sst.config.ts the way
 * `sst deploy` does, but against Pulumi mocks and a local stand-in for the SST CLI, and prints
 * the resource graph as one JSON line prefixed `AOS_STACK_GRAPH `.
 *
 * - Pulumi mocks record every resource (type, name, inputs) and answer the AWS data sources the
 *   components call (getRegion, getCallerIdentity, getPartition, getPolicyDocument).
 * - The globals sst.config.ts expects (`$config`, `$app`, `$dev`, `$cli`, `sst`, `aws`, the
 *   `$`-helpers) are defined as SST's CLI defines them.
 * - `SST_SERVER` points at a loopback HTTP server answering the CLI's RPCs: the AWS bootstrap
 *   lookup and `Runtime.Build`, which fails unless the handler file exists and exports the
 *   handler's function, as the real build would.
 *
 * Environment: AOS_STACK_STAGE (default "test"), AOS_STACK_HANDLER_ROOT (where handler files
 * are looked up, default the repo root), AOS_STACK_EXTRA_ROUTES (JSON array of routes appended
 * to the route table, to prove the build check fails).
 *
 * It leans on SST internals (`src/auto/run.ts`, the RPC names): sst is pinned exactly.
 */
import { rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Mocks, mocks, plain, REGION } from "./fake-aws.ts";
import { startCliStub } from "./fake-cli.ts";

/** The few parts of `@pulumi/pulumi` used here (the harness is type-checked without it). */
interface PulumiLike {
  runtime: {
    setMocks(mocks: Mocks, project: string, stack: string, preview: boolean): Promise<void>;
    runInPulumiStack(init: () => Promise<unknown>): Promise<unknown>;
    disconnect(): Promise<void>;
  };
  output(value: unknown): { apply(fn: (v: unknown) => void): unknown };
}
interface SstConfig {
  app(input: { stage: string }): Promise<Record<string, unknown>> | Record<string, unknown>;
  run(): Promise<Record<string, unknown> | undefined>;
}
export interface HarnessDeps {
  root: string;
  platform: string;
  pulumi: PulumiLike;
  loadConfig(): Promise<{ default: SstConfig }>;
  loadTable(): Promise<{ routes: readonly unknown[] }>;
  loadPlatform(): Promise<{
    aws: unknown;
    sst: unknown;
    shim: Record<string, unknown>;
    run(program: () => Promise<unknown>): Promise<Record<string, unknown>>;
  }>;
}

/** One resource as the mocks saw it. */
export interface GraphResource {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
}
/** One `Runtime.Build` request and its verdict. */
export interface GraphBuild {
  functionID: string;
  handler: string;
  file: string | null;
  runtime: string;
  properties: Record<string, unknown>;
  /** Link name -> the property names the code can read (`Resource.Exports.name`). */
  links: Record<string, string[]>;
  errors: string[];
}
export interface StackGraph {
  app: Record<string, unknown>;
  outputs: unknown;
  resources: GraphResource[];
  builds: GraphBuild[];
  /** RPC methods and data sources nobody stood in for, and errors of the program. */
  unhandled: string[];
  errors: string[];
  /** Where handler files were looked up ("." = the repo root). */
  handlerRoot: string;
}

const IDLE_MS = 1500;

/** Resolves once the evaluation has failed and the mocks have seen nothing for IDLE_MS. */
function failedAndIdle(graph: StackGraph, last: () => number): Promise<void> {
  const failed = () => graph.errors.length > 0 || graph.builds.some((b) => b.errors.length > 0);
  return new Promise((ok) => {
    const timer = setInterval(() => {
      if (failed() && Date.now() - last() > IDLE_MS) {
        clearInterval(timer);
        ok();
      }
    }, 100);
  });
}

const resolved = (value: unknown, pulumi: PulumiLike) => new Promise((ok) => pulumi.output(value).apply(ok));

export async function main(deps: HarnessDeps): Promise<void> {
  const stage = process.env.AOS_STACK_STAGE ?? "test";
  const handlerRoot = process.env.AOS_STACK_HANDLER_ROOT ?? deps.root;
  const work = join(deps.platform, ".aos-stack-test", `work-${process.pid}`);
  const graph: StackGraph = {
    app: {},
    outputs: null,
    resources: [],
    builds: [],
    unhandled: [],
    errors: [],
    handlerRoot: ".",
  };
  // The same failure surfaces once per output that depends on it: keep each message once.
  const fail = (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    if (!graph.errors.includes(msg)) graph.errors.push(msg);
  };
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);
  // A rejected input can leave Pulumi waiting forever: report what was seen rather than hang.
  setTimeout(() => {
    fail(new Error("stack evaluation did not finish within 75 s"));
    finish(graph, handlerRoot);
  }, 75_000).unref();

  let lastActivity = Date.now();
  const touch = () => {
    lastActivity = Date.now();
  };
  const server = await startCliStub(graph, handlerRoot, work, touch);
  const g = globalThis as Record<string, unknown>;
  g.$dev = false;
  g.$cli = {
    command: "deploy",
    rpc: process.env.SST_SERVER,
    paths: { home: join(homedir(), ".config", "sst"), root: deps.root, work, platform: deps.platform },
    state: { version: {} },
  };
  // sst.config.ts calls $config at load; SST's is the identity, and the shim's replaces this below.
  g.$config = (c: unknown) => c;
  process.env.SST_AWS_REGION = REGION;

  try {
    const extra = process.env.AOS_STACK_EXTRA_ROUTES;
    if (extra) ((await deps.loadTable()).routes as unknown[]).push(...(JSON.parse(extra) as unknown[]));
    const config = (await deps.loadConfig()).default;
    // As the CLI does: evaluate app() first, then run() with $app known.
    const app = await config.app({ stage });
    g.$app = {
      name: app.name,
      stage,
      removal: app.removal ?? "retain",
      providers: app.providers ?? {},
      protect: Boolean(app.protect),
    };
    graph.app = g.$app as Record<string, unknown>;
    const platform = await deps.loadPlatform();
    for (const [k, v] of Object.entries(platform.shim)) g[k] = v;
    g.sst = platform.sst;
    g.aws = platform.aws;
    await deps.pulumi.runtime.setMocks(mocks(graph, touch), String(app.name), stage, false);
    const evaluation = (async () => {
      const outputs = await deps.pulumi.runtime.runInPulumiStack(() =>
        platform.run(() => config.run().then((o) => o ?? {})),
      );
      await deps.pulumi.runtime.disconnect();
      graph.outputs = await resolved(outputs, deps.pulumi);
    })();
    // A failed build rejects an input, and Pulumi then waits forever for that resource. Once
    // something has failed and nothing has happened for a while, everything else is in.
    await Promise.race([evaluation, failedAndIdle(graph, () => lastActivity)]);
  } catch (e) {
    fail(e);
  }
  server.close();
  rmSync(work, { recursive: true, force: true });
  finish(graph, handlerRoot === deps.root ? "." : handlerRoot);
}

/** Prints the graph; the exit code says whether the evaluation was clean. */
function finish(graph: StackGraph, handlerRoot: string): never {
  for (const r of graph.resources) r.inputs = plain(JSON.parse(JSON.stringify(r.inputs))) as Record<string, unknown>;
  graph.builds.sort((a, b) => a.functionID.localeCompare(b.functionID));
  graph.handlerRoot = handlerRoot;
  const clean =
    graph.errors.length === 0 && graph.unhandled.length === 0 && graph.builds.every((b) => b.errors.length === 0);
  process.stdout.write(`AOS_STACK_GRAPH ${JSON.stringify(graph)}\n`, () => process.exit(clean ? 0 : 1));
  // process.exit runs in the write callback, so a large graph is never cut short on a pipe.
  return undefined as never;
}
