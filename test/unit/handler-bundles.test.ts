/**
 * Every Lambda bundles only what its paths call (issue 13, docs/decisions/0004-cold-start.md).
 * Each handler is bundled as SST does (bench/cold-start.ts's esbuild options) and its metafile
 * read: a domain (`core/<domain>/`) or an AWS client / database driver in the bundle that the
 * table below does not give the handler fails, and so does any AWS client loaded at import.
 *
 * What a handler's paths call:
 * - domains: the reviewed table `domains` (every HTTP route also gets tenancy: httpHandler
 *   authenticates every request);
 * - `@aws-sdk/client-sqs`: only lazily, and only where routes.ts links the function to a queue
 *   (`*Queue`: the IAM permission to send);
 * - `@aws-sdk/client-s3`: only lazily, only for the paths that read or write objects (`s3Paths`,
 *   each linked to `Exports`); `GET /health` probes S3 without the client;
 * - `@aws-sdk/s3-request-presigner`: only lazily, only for the download route;
 * - Neon's driver and `ws`: only lazily (loaded when DB_DRIVER=neon), never at import.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Allowed, bundleContents, type Contents, unexpected } from "../../bench/bundle-contents.ts";
import { fallback, handlerFile, type LinkName, queues, routes, schedules } from "../../functions/routes.ts";

type Domain =
  | "tenancy"
  | "status-history"
  | "skills"
  | "jobs"
  | "credits"
  | "failures"
  | "workflows"
  | "agents"
  | "costsim";

/** The domains each handler's paths call, beside tenancy for HTTP routes. Reviewed: keep it narrow. */
const domains: Readonly<Record<string, readonly Domain[]>> = {
  // Platform routes call no domain.
  "functions/http/health/get.ts": [],
  "functions/http/openapi/get.ts": [],
  "functions/http/metrics/get.ts": [],
  // API Gateway's $default route: the route table and the router, no domain.
  "functions/http/fallback.ts": [],
  "functions/http/tenants/create.ts": [],
  "functions/http/tenants/list.ts": [],
  "functions/http/keys/create.ts": [],
  "functions/http/keys/list.ts": [],
  "functions/http/keys/revoke.ts": [],
  "functions/http/status-history/list.ts": ["status-history"],
  "functions/http/status-history/entity.ts": ["status-history"],
  "functions/http/status-history/stats.ts": ["status-history"],
  "functions/http/status-history/export-create.ts": ["status-history"],
  "functions/http/status-history/export-get.ts": ["status-history"],
  "functions/http/status-history/download.ts": ["status-history"],
  "functions/http/skills/list.ts": ["skills"],
  "functions/http/skills/get.ts": ["skills"],
  // A breaker's transitions are recorded in status history.
  "functions/http/skills/execute.ts": ["skills", "status-history", "credits", "failures"],
  // The skill breaker's kind (core/skills/breaker.ts) is defined with its status history hook,
  // so reading breakers carries status history too (a few KB; reads never record).
  "functions/http/breakers/list.ts": ["skills", "status-history"],
  "functions/http/breakers/reset.ts": ["skills", "status-history"],
  "functions/http/webhooks/signing-secret.ts": ["skills"],
  // Jobs reserve and settle credits; status changes are recorded. Only spawn and simulate (and the
  // SQS worker) need skills: spawn validates item inputs, simulate prices them and looks at breakers.
  // Spawn keeps CostSim's plan hash while the V2 sandbox is on; whatever settles a job (a completion,
  // a failure, a cancel, the sweeper) writes its outcome next to the shadow's comparisons of it.
  "functions/http/jobs/create.ts": ["jobs", "credits", "status-history", "skills", "costsim"],
  // CostSim V1 on the same body (and its shadow request when sandboxed).
  "functions/http/jobs/simulate.ts": ["jobs", "credits", "skills", "status-history", "failures", "costsim"],
  "functions/http/jobs/list.ts": ["jobs", "credits"],
  "functions/http/jobs/get.ts": ["jobs", "credits"],
  "functions/http/jobs/items.ts": ["jobs", "credits"],
  "functions/http/jobs/cancel.ts": ["jobs", "credits", "status-history", "costsim"],
  "functions/http/jobs/claim.ts": ["jobs", "credits"],
  "functions/http/items/heartbeat.ts": ["jobs", "credits"],
  "functions/http/items/complete.ts": ["jobs", "credits", "status-history", "costsim"],
  "functions/http/items/complete-many.ts": ["jobs", "credits", "status-history", "costsim"],
  "functions/http/items/fail.ts": ["jobs", "credits", "status-history", "failures", "costsim"],
  "functions/http/credits/grant.ts": ["credits", "status-history"],
  "functions/http/credits/get.ts": ["credits"],
  "functions/http/credits/ledger.ts": ["credits"],
  "functions/queue/events.ts": ["tenancy", "failures"],
  "functions/queue/status-history-export.ts": ["status-history", "tenancy", "failures"],
  "functions/queue/job-items.ts": ["jobs", "credits", "status-history", "skills", "tenancy", "failures", "costsim"],
  // Writes failure records Postgres did not take in time (their tenant defaults to the platform's).
  "functions/queue/failure-records.ts": ["failures", "tenancy"],
  // The recovery tracking API; a recovery change is recorded in status history.
  "functions/cron/failure-retention.ts": ["failures", "tenancy"],
  // The daily aggregation writes per-tenant objects to S3.
  "functions/cron/failure-aggregation.ts": ["failures"],
  "functions/http/failures/catalog.ts": ["failures"],
  "functions/http/failures/classify.ts": ["failures"],
  "functions/http/failures/list.ts": ["failures"],
  "functions/http/failures/stats.ts": ["failures"],
  "functions/http/failures/unrecovered.ts": ["failures"],
  "functions/http/failures/get.ts": ["failures"],
  "functions/http/failures/recovery.ts": ["failures", "status-history"],
  "functions/cron/key-usage-flush.ts": ["tenancy"],
  "functions/cron/status-history-export-sweep.ts": ["status-history", "tenancy"],
  "functions/cron/skill-idempotency-sweep.ts": ["skills", "credits"],
  "functions/cron/job-sweep.ts": ["jobs", "credits", "status-history", "tenancy", "failures", "costsim"],
  // A job named at registration or by an invoke is checked through core/jobs (which reads credits).
  "functions/http/agents/register.ts": ["agents", "jobs", "credits"],
  "functions/http/agents/list.ts": ["agents"],
  "functions/http/agents/get.ts": ["agents"],
  "functions/http/agents/heartbeat.ts": ["agents"],
  "functions/http/agents/deregister.ts": ["agents"],
  "functions/http/agents/receive.ts": ["agents"],
  "functions/http/agents/invoke.ts": ["agents", "jobs", "credits", "failures"],
  "functions/http/messages/send.ts": ["agents"],
  "functions/http/messages/ack.ts": ["agents"],
  "functions/http/messages/dead.ts": ["agents"],
  "functions/http/messages/replay.ts": ["agents"],
  // Answers charge or release the invoke's credits hold; the sweep releases those of dead callers.
  "functions/http/invokes/respond.ts": ["agents", "credits", "failures"],
  "functions/http/invokes/cancel.ts": ["agents", "credits"],
  "functions/http/invokes/list.ts": ["agents"],
  "functions/http/invokes/get.ts": ["agents"],
  // Invokes it times out are recorded as failures (their tenant given; the platform's by default).
  "functions/cron/agent-sweep.ts": ["agents", "credits", "failures", "tenancy"],
  "functions/http/blackboard/put.ts": ["agents"],
  "functions/http/blackboard/get.ts": ["agents"],
  "functions/http/blackboard/delete.ts": ["agents"],
  "functions/http/blackboard/incr.ts": ["agents"],
  "functions/http/blackboard/list.ts": ["agents"],
  "functions/http/blackboard/aggregate.ts": ["agents"],
  // Workflows: registration checks steps against the skills' schemas; a run's start and a fork
  // price its steps (skills) and reserve credits; the worker runs skills; replay runs
  // deterministic skills again. Reads need no skill.
  "functions/http/workflows/register.ts": ["workflows", "skills"],
  "functions/http/workflows/list.ts": ["workflows"],
  "functions/http/workflows/get.ts": ["workflows"],
  // A run reserves CostSim V1's estimate (estimateRun: planOf + simulateV1).
  "functions/http/workflows/runs/start.ts": ["workflows", "credits", "skills", "status-history", "costsim"],
  "functions/http/workflows/simulate.ts": ["workflows", "costsim", "credits", "skills"],
  "functions/http/workflows/runs/list.ts": ["workflows"],
  "functions/http/workflows/runs/get.ts": ["workflows"],
  "functions/http/workflows/runs/cancel.ts": ["workflows", "credits", "status-history"],
  // Replay runs deterministic skills again, whose failures go to the catalog.
  "functions/http/workflows/runs/replay.ts": ["workflows", "credits", "skills", "status-history", "failures"],
  "functions/http/workflows/runs/replay-get.ts": ["workflows"],
  "functions/http/workflows/runs/fork.ts": ["workflows", "credits", "skills", "status-history", "costsim"],
  // A finished run records its actual outcome beside its plan's simulations (Costsim.recordActual).
  "functions/queue/workflow-steps.ts": [
    "workflows",
    "credits",
    "skills",
    "status-history",
    "tenancy",
    "failures",
    "costsim",
  ],
  "functions/queue/workflow-replays.ts": ["workflows", "credits", "skills", "status-history", "tenancy", "failures"],
  "functions/cron/workflow-sweep.ts": ["workflows"],
  // Exports old runs' ops to S3, deletes them, records it in status history.
  "functions/cron/workflow-retention.ts": ["workflows"],
  // Cost simulation: plans are priced by the skills' cost models (skills) against the credits;
  // a workflow named is looked up (workflows); V2 reads its history from workflows, jobs and failures.
  "functions/http/costsim/simulate.ts": ["costsim", "credits", "skills", "workflows"],
  "functions/http/costsim/v2-simulate.ts": ["costsim", "credits", "skills", "workflows", "jobs", "failures"],
  "functions/http/costsim/v2-status.ts": ["costsim", "credits"],
  "functions/http/costsim/divergence.ts": ["costsim", "credits"],
  "functions/http/costsim/datasets-list.ts": ["costsim", "credits"],
  "functions/http/costsim/datasets-get.ts": ["costsim", "credits"],
  "functions/http/costsim/datasets-validate.ts": ["costsim", "credits", "skills"],
  "functions/http/costsim/datasets-validate-all.ts": ["costsim", "credits", "skills"],
  // The Redis stream of shadow requests to the CostsimShadow queue.
  "functions/cron/costsim-shadow-relay.ts": ["costsim", "credits", "tenancy"],
  "functions/queue/costsim-shadow.ts": ["costsim", "credits", "skills", "tenancy", "workflows", "jobs", "failures"],
  // The drift breaker: its incidents, alerts, canary and cron (the breaker records in status history
  // under the platform tenant, through the platform's writer).
  "functions/http/costsim/v2-reset.ts": ["costsim", "credits", "tenancy"],
  "functions/http/costsim/v2-incidents.ts": ["costsim", "credits"],
  "functions/http/costsim/canary-run.ts": ["costsim", "credits", "skills", "tenancy"],
  "functions/http/costsim/canary-reports.ts": ["costsim", "credits"],
  "functions/http/costsim/canary-report.ts": ["costsim", "credits"],
  "functions/queue/costsim-alerts.ts": ["costsim", "credits", "tenancy", "failures"],
  "functions/cron/costsim-safety.ts": ["costsim", "credits", "tenancy"],
  "functions/cron/costsim-canary.ts": ["costsim", "credits", "skills", "tenancy"],
};

/** The paths that read or write S3 objects (upload, delete, presign). */
const s3Paths = [
  "functions/http/status-history/download.ts",
  "functions/queue/status-history-export.ts",
  "functions/cron/status-history-export-sweep.ts",
  "functions/cron/failure-aggregation.ts",
  "functions/cron/workflow-retention.ts",
];
const presignPaths = ["functions/http/status-history/download.ts"];
/** Each skill's run and what only runs call (core/skills/runnable.ts loads them per skill). */
const skillRunFiles = [
  "core/skills/kv-store.ts",
  "core/skills/slack-send.ts",
  "core/skills/webhook-send.ts",
  "core/skills/voyage-embed.ts",
  "core/skills/outbound.ts",
  "core/skills/ssrf.ts",
];

interface Handler {
  file: string;
  http: boolean;
  links: readonly LinkName[];
}
const handlers: Handler[] = [
  ...routes.map((r) => ({ file: handlerFile(r.handler), http: true, links: r.links ?? [] })),
  { file: handlerFile(fallback.handler), http: true, links: [] },
  ...[...queues, ...schedules].map((q) => ({ file: handlerFile(q.handler), http: false, links: q.links ?? [] })),
];

function allowedFor(h: Handler, table: Readonly<Record<string, readonly Domain[]>> = domains): Allowed {
  const lazy: string[] = ["@neondatabase/serverless", "ws"];
  if (h.links.some((l) => l.endsWith("Queue"))) lazy.push("@aws-sdk/client-sqs");
  if (s3Paths.includes(h.file)) lazy.push("@aws-sdk/client-s3");
  if (presignPaths.includes(h.file)) lazy.push("@aws-sdk/s3-request-presigner");
  return { atImport: [...(table[h.file] ?? []), ...(h.http ? ["tenancy"] : [])], lazy };
}

const built = new Map<string, Contents>();
beforeAll(async () => {
  const files = [...new Set(handlers.map((h) => h.file))];
  const contents = await Promise.all(files.map((f) => bundleContents(f)));
  for (const [i, f] of files.entries()) built.set(f, contents[i] as Contents);
}, 300_000);

describe("what each handler's bundle carries", () => {
  it("the table names every handler of routes.ts (and the $default fallback), and nothing else", () => {
    expect(Object.keys(domains).sort()).toEqual([...new Set(handlers.map((h) => h.file))].sort());
  });

  it("only functions linked to the Exports bucket may carry the S3 client", () => {
    for (const file of s3Paths) expect(handlers.find((h) => h.file === file)?.links).toContain("Exports");
  });

  it.each(handlers.map((h) => [h.file, h] as const))("%s carries only what its paths call", (_, h) => {
    const c = built.get(h.file) as Contents;
    expect(unexpected(c, allowedFor(h))).toEqual([]);
  });

  it("a skill's run code is loaded per skill on its first call, never at import", () => {
    for (const file of ["functions/http/skills/execute.ts", "functions/queue/job-items.ts"]) {
      const c = built.get(file) as Contents;
      expect({ file, runCode: [...c.filesAtImport].filter((f) => skillRunFiles.includes(f)) }).toEqual({
        file,
        runCode: [],
      });
      expect(c.filesAtImport).toContain("core/skills/runnable.ts");
    }
  });

  it("GET /health carries no S3 client at all, and no handler loads an AWS client at import", () => {
    expect([...(built.get("functions/http/health/get.ts") as Contents).lazy]).not.toContain("@aws-sdk/client-s3");
    for (const [file, c] of built) {
      expect({ file, atImport: [...c.atImport].filter((t) => t.startsWith("@") || t === "ws") }).toEqual({
        file,
        atImport: [],
      });
    }
  });
});

describe("zod is imported so that it tree-shakes", () => {
  // `import { z } from "zod/mini"` takes the `z` namespace export, which esbuild keeps whole: every
  // locale came with it (FailureAggregation was 585 KB at import, 1,280 KB with its chunks, against
  // a 400 KB / 1 MB budget). `import * as z` and named imports keep only what is called.
  const root = resolve(import.meta.dirname, "../..");
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith(".ts"))
      .map((e) => join(e.parentPath, e.name));
  it("no file under core/ or functions/ imports zod's `z` export", () => {
    const offenders = [...sources("core"), ...sources("functions")].filter((f) =>
      /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*"zod/.test(readFileSync(f, "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});

describe("the check fails when a bundle carries more than its paths call", () => {
  const dir = resolve(import.meta.dirname, "../../.aos/bundle-probe");
  const probe = (name: string, source: string) => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, name);
    writeFileSync(file, source);
    return file;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const jobsOnly: Allowed = {
    atImport: ["jobs", "credits", "tenancy", "status-history"],
    lazy: ["@aws-sdk/client-sqs", "@neondatabase/serverless", "ws"],
  };

  it("rejects the create handler when the table no longer gives it skills", () => {
    const h = handlers.find((x) => x.file === "functions/http/jobs/create.ts") as Handler;
    const narrowed = { ...domains, [h.file]: ["jobs", "credits", "status-history", "costsim"] as Domain[] };
    expect(unexpected(built.get(h.file) as Contents, allowedFor(h, narrowed))).toEqual(["skills (at import)"]);
  });

  it("rejects a health handler given the S3 client it does not need", async () => {
    const file = probe(
      "health-with-s3.ts",
      'import { checkS3 } from "../../core/platform/s3-health.ts";\n' +
        'import { headObject } from "../../core/platform/storage.ts";\n' +
        "export const handler = async () => { await checkS3(); return headObject('k'); };\n",
    );
    const c = await bundleContents(file);
    expect(unexpected(c, { atImport: [], lazy: ["@neondatabase/serverless", "ws"] })).toEqual([
      "@aws-sdk/client-s3 (lazy)",
    ]);
  });

  it("rejects an AWS client imported at module scope, even where the lazy chunk would be allowed", async () => {
    const file = probe(
      "eager-sqs.ts",
      'import { SQSClient } from "@aws-sdk/client-sqs";\nexport const handler = () => new SQSClient({});\n',
    );
    const c = await bundleContents(file);
    expect(unexpected(c, jobsOnly)).toEqual(["@aws-sdk/client-sqs (at import)"]);
  });

  it("a namespace import keeps what is called: Jobs.list carries no skills nor costsim, Jobs.spawn does", async () => {
    const list = await bundleContents(
      probe(
        "jobs-list.ts",
        'import * as Jobs from "../../core/jobs/index.ts";\nexport const handler = (q: never) => Jobs.list(q);\n',
      ),
    );
    expect(unexpected(list, jobsOnly)).toEqual([]);
    const spawn = await bundleContents(
      probe(
        "jobs-spawn.ts",
        'import * as Jobs from "../../core/jobs/index.ts";\nexport const handler = (b: never) => Jobs.spawn(b);\n',
      ),
    );
    expect(unexpected(spawn, jobsOnly)).toEqual(["costsim (at import)", "skills (at import)"]);
  });

  it("a run file imported statically is found at import", async () => {
    const c = await bundleContents(
      probe(
        "eager-skill.ts",
        'import { kvStore } from "../../core/skills/kv-store.ts";\nexport const handler = (a: never, x: never) => kvStore.run(a, x);\n',
      ),
    );
    expect([...c.filesAtImport].filter((f) => skillRunFiles.includes(f))).toEqual(["core/skills/kv-store.ts"]);
  });

  it("an object-literal face is not tree-shaken: calling only list still carries skills", async () => {
    const c = await bundleContents(
      probe(
        "object-face.ts",
        'import * as J from "../../core/jobs/index.ts";\n' +
          "const Jobs = { list: J.list, spawn: J.spawn, processMessages: J.processMessages };\n" +
          "export const handler = (q: never) => Jobs.list(q);\n",
      ),
    );
    expect(unexpected(c, jobsOnly)).toContain("skills (at import)");
  });
});
