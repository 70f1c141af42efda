/**
 * The SST stacks, tested offline and for real: sst.config.ts and stacks/ are evaluated by SST's
 * own component code against Pulumi mocks (see harness.ts), and the resource graph is checked
 * against functions/routes.ts (see checks.ts). No AWS account, no Pulumi CLI.
 *
 * Prepare: `sst install` (idempotent, offline) and one bundle; then four evaluations, two at a time:
 * the real table on stage "test", on stage "prod", with routes whose handler is missing or not
 * exported, and with a route linking the bucket.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpRoute } from "../../functions/routes.ts";
import * as table from "../../functions/routes.ts";
import { ensureSstInstalled } from "../../scripts/sst-install.ts";
import {
  checkBucket,
  checkEvaluation,
  checkLeastPrivilege,
  checkQueues,
  checkRoutes,
  checkRuntimes,
  checkSchedules,
  type Table,
} from "./checks.ts";
import type { StackGraph } from "./harness.ts";
import { bundleHarness, type GraphRun, ROOT, stackGraph } from "./stack-graph.ts";

const probe = (path: string, handler: string, extra: Partial<HttpRoute> = {}): HttpRoute => ({
  method: "GET",
  path: `/api/v1/stack-test/${path}`,
  handler,
  role: "public",
  summary: "stack test probe",
  tag: "test",
  ...extra,
});
/** No such file: the build must fail and name it. */
const missingHandler = probe("missing", "functions/http/stack-test/missing.handler");
/** The file exists but exports no `notAHandler`. */
const unexportedHandler = probe("unexported", "functions/routes.notAHandler");
/** A real handler, linked to the bucket. */
const bucketProbe = probe("bucket", "functions/http/health/get.handler", { links: ["Exports"] });

const withRoutes = (...extra: HttpRoute[]): Table => ({ ...table, routes: [...table.routes, ...extra] });

let bundle = "";
let real: GraphRun;
let prod: GraphRun;
let broken: GraphRun;
let linked: GraphRun;
const graphOf = (run: GraphRun): StackGraph => {
  if (!run.graph) throw new Error(`the harness printed no graph (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
  return run.graph;
};

beforeAll(async () => {
  const install = await ensureSstInstalled();
  const started = Date.now();
  bundle = await bundleHarness();
  // Two at a time: the machine has two cores, and more at once only stretches each run.
  [real, prod] = await Promise.all([stackGraph(bundle), stackGraph(bundle, { stage: "prod" })]);
  [broken, linked] = await Promise.all([
    stackGraph(bundle, { extraRoutes: [missingHandler, unexportedHandler] }),
    stackGraph(bundle, { extraRoutes: [bucketProbe] }),
  ]);
  console.info(
    `stack test: sst install ${install.installed ? "ran" : "skipped"} (${install.ms} ms), ` +
      `bundle + 4 evaluations ${Date.now() - started} ms`,
  );
}, 150_000);

afterAll(() => {
  if (bundle) rmSync(bundle, { force: true });
});

describe("stacks built from functions/routes.ts", () => {
  it("evaluate cleanly: no errors, every handler builds, nothing left unanswered", () => {
    const g = graphOf(real);
    expect(checkEvaluation(g)).toEqual([]);
    expect(real.code).toBe(0);
    // Every entry's handler, and the $default route's fallback.
    expect(g.builds.length).toBe(table.routes.length + table.queues.length + table.schedules.length + 1);
  });

  it("route every entry of `routes` through API Gateway to a Lambda running its handler file", () => {
    const g = graphOf(real);
    expect(table.routes.length).toBeGreaterThan(0);
    // Every entry, HEAD beside each GET (to the same function), and $default.
    const gets = table.routes.filter((r) => r.method === "GET").length;
    expect(g.resources.filter((r) => r.type === "aws:apigatewayv2/route:Route")).toHaveLength(
      table.routes.length + gets + 1,
    );
    expect(checkRoutes(g, table, ROOT)).toEqual([]);
  });

  it("give every queue a DLQ (redrive at maxReceiveCount) and one mapping reporting batch item failures", () => {
    const g = graphOf(real);
    expect(table.queues.length).toBeGreaterThan(0);
    expect(checkQueues(g, table, ROOT)).toEqual([]);
  });

  it("schedule every entry of `schedules`", () => {
    const g = graphOf(real);
    expect(table.schedules.length).toBeGreaterThan(0);
    expect(checkSchedules(g, table, ROOT)).toEqual([]);
  });

  it("run every Lambda on nodejs22.x or newer, arm64, one per table entry", () => {
    expect(checkRuntimes(graphOf(real), table)).toEqual([]);
  });

  it("grant the bucket and each queue only to the entries that link them", () => {
    const g = graphOf(real);
    expect(table.routes.some((r) => r.links?.includes("Exports"))).toBe(true);
    expect(table.routes.some((r) => !r.links?.includes("Exports"))).toBe(true);
    expect(checkLeastPrivilege(g, table)).toEqual([]);
  });

  it("expire exports/ after 7 days and abort incomplete multipart uploads after 1", () => {
    expect(checkBucket(graphOf(real))).toEqual([]);
  });

  it("retain and protect prod; leave other stages removable", () => {
    expect(graphOf(real).app).toMatchObject({ name: "aos", stage: "test", removal: "remove", protect: false });
    const p = graphOf(prod);
    expect(checkEvaluation(p)).toEqual([]);
    expect(p.app).toMatchObject({ name: "aos", stage: "prod", removal: "retain", protect: true });
    expect(p.outputs).toMatchObject({ _protect: true });
  });
});

describe("the stack checks fail when they should", () => {
  it("fail the build of a route whose handler file is missing, naming the file", () => {
    const g = graphOf(broken);
    expect(broken.code).not.toBe(0);
    const problems = checkEvaluation(g).join("\n");
    expect(problems).toContain('Could not find handler file "functions/http/stack-test/missing.ts"');
    expect(checkRoutes(g, withRoutes(missingHandler, unexportedHandler), ROOT)).toContain(
      "GET /api/v1/stack-test/missing: 0 API Gateway routes; handler file functions/http/stack-test/missing.ts does not exist",
    );
  });

  it("fail the build of a route whose file does not export the handler's function", () => {
    expect(checkEvaluation(graphOf(broken)).join("\n")).toContain(
      '"functions/routes.ts" does not export "notAHandler"',
    );
  });

  it("flag a function whose access differs from its table entry", () => {
    const g = graphOf(linked);
    expect(checkEvaluation(g)).toEqual([]);
    // Judged against the table it was built from, the linked probe is fine...
    expect(checkLeastPrivilege(g, withRoutes(bucketProbe))).toEqual([]);
    // ...judged against a table where it links nothing, its bucket access is excess.
    const unlinked = { ...bucketProbe, links: undefined };
    expect(checkLeastPrivilege(g, withRoutes(unlinked))).toEqual([
      "GET /api/v1/stack-test/bucket: has access to the Exports bucket, table does not link it",
      "GET /api/v1/stack-test/bucket: links DatabaseUrl,Exports,RedisUrl, table implies DatabaseUrl,RedisUrl",
    ]);
    // ...and the real graph against a table granting the bucket to every route shows what is missing.
    const everywhere = { ...table, routes: table.routes.map((r) => ({ ...r, links: ["Exports" as const] })) };
    expect(checkLeastPrivilege(graphOf(real), everywhere).join("\n")).toContain("lacks access to the Exports bucket");
  });
});
