/**
 * Fuzz of every operation of the OpenAPI document (docs/openapi.json, generated from the route
 * table and the handlers' schemas) through the real HTTP path of `npm start` (Node's parser, the
 * local router, the payload-2.0 event, the handler) against this file's Postgres, Redis, s3rver
 * and fauxqs, with Slack and Voyage stand-ins on loopback. Requests come from
 * test/setup/fuzz-requests.ts: mostly what the document declares, with hostile parts mixed in.
 *
 * Asserted for every reply: no 5xx; every 4xx in the error envelope with a code of docs/errors.md;
 * every status declared for that operation (a wrong method: 405, declared too); no 400 quoting a
 * library's message. Seeded and of fixed size: FUZZ_SEED and FUZZ_RUNS (per operation) change them,
 * and a failure prints the seed with each failing request.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setConfig } from "../../core/config.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeKey, makeTenantWithKeys } from "../factories/tenancy.ts";
import { type SlackServer, startSlackServer } from "../setup/external-servers.ts";
import { type FuzzRequest, type FuzzWorld, operationsOf, requestFor } from "../setup/fuzz-requests.ts";
import { type ApiReply, type LocalApi, startLocalApi } from "../setup/local-api.ts";
import { startVoyageServer, type VoyageServer } from "../setup/voyage-server.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 40);

const doc = JSON.parse(readFileSync("docs/openapi.json", "utf8"));
const knownCodes = new Set(
  [...readFileSync("docs/errors.md", "utf8").matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string),
);
// What a library says, never AOS: zod's English, JSON.parse's, JavaScript's error names.
const LIBRARY_WORDS =
  /RangeError|SyntaxError|TypeError|Invalid input(:|$| \|)|Invalid (option|string|number|UUID|ISO|URL|discriminator|key in|value in|element)|Too big|Too small|Unrecognized key|JSON at position|Unexpected token|Unexpected end|Expected property/;

let api: LocalApi;
let voyage: VoyageServer;
let slack: SlackServer;
let world: FuzzWorld;

beforeAll(async () => {
  slack = await startSlackServer();
  voyage = await startVoyageServer({ apiKey: "vk-fuzz" });
  setConfig({
    SLACK_WEBHOOK_URL: slack.url,
    WEBHOOK_SIGNING_SECRET: "fuzz-master-secret-of-at-least-32-chars",
    VOYAGE_API_KEY: "vk-fuzz",
    VOYAGE_BASE_URL: voyage.url,
    SKILL_RETRY_MAX_ATTEMPTS: "1",
  });
  api = await startLocalApi();
  const t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 1_000_000);
  // Keys the fuzz may revoke: never the ones it authenticates with.
  const victims = [await makeKey({ tenantId: t.tenant.id, role: "viewer" })];
  const post = async (path: string, body: unknown, key = t.keys.admin.key) =>
    (
      await api.call("POST", path, {
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      })
    ).json;
  const job = await post("/api/v1/jobs", { task: "external", items: [{ input: { n: 1 } }, { input: { n: 2 } }] });
  const claimed = await post(`/api/v1/jobs/${job.id}/claim`, { worker_id: "w1", max_items: 1, lease_s: 600 });
  const exported = await post("/api/v1/status_history/export", { format: "csv" });
  world = {
    keys: {
      admin: t.keys.admin.key,
      operator: t.keys.operator.key,
      agent: t.keys.agent.key,
      viewer: t.keys.viewer.key,
    },
    tenants: [t.tenant.slug, t.tenant.id, "no-such-tenant"],
    ids: {
      id: [job.id, claimed.items[0].id, victims[0]?.id as string, exported.id],
      name: ["kv_store", "slack_send", "webhook_send", "voyage_embed", "nope"],
      type: ["job", "export", "circuit_breaker", "api_key"],
      target: ["slack", "voyage", "example.org"],
    },
  };
}, 60_000);
afterAll(async () => {
  await api?.close();
  await voyage?.close();
  await slack?.close();
});

/** The responses the document declares for what `req` asked (its method on its path template). */
function declaredFor(req: FuzzRequest): Record<string, unknown> {
  const ops = doc.paths[req.operation.path] as Record<string, { responses: Record<string, unknown> }>;
  const m = req.method.toLowerCase();
  const op = ops[m] ?? (m === "head" ? ops.get : undefined);
  if (op) return op.responses;
  // A method the path does not have: what every operation of the path declares for it.
  return Object.assign({}, ...Object.values(ops).map((o) => o.responses));
}

function problemsOf(req: FuzzRequest, res: ApiReply): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`answered ${res.status}`);
  if (!(String(res.status) in declaredFor(req))) problems.push(`status ${res.status} is not declared`);
  const wrongMethod =
    !doc.paths[req.operation.path][req.method.toLowerCase()] &&
    !(req.method === "HEAD" && doc.paths[req.operation.path].get);
  // The request line, headers and body limits come before routing.
  if (wrongMethod && ![405, 413, 431].includes(res.status))
    problems.push(`a method the path lacks answered ${res.status}, not 405`);
  if (res.status >= 400 && req.method !== "HEAD") {
    const e = res.json?.error;
    if (
      !e ||
      typeof e.code !== "string" ||
      typeof e.message !== "string" ||
      typeof e.requestId !== "string" ||
      !("details" in e)
    )
      problems.push("no error envelope");
    else {
      if (!knownCodes.has(e.code)) problems.push(`code ${e.code} is not in docs/errors.md`);
      const words = [e.message, ...((e.details?.fields ?? []) as { message: string }[]).map((f) => f.message)].join(
        " | ",
      );
      if (LIBRARY_WORDS.test(words)) problems.push(`quotes a library: ${words.slice(0, 200)}`);
    }
  }
  return problems;
}

const show = (req: FuzzRequest, res: ApiReply) =>
  `${req.method} ${req.url.slice(0, 160)} [${Object.keys(req.headers).join(",")}] body=${JSON.stringify((req.body ?? "").slice(0, 120))} -> ${res.status} ${res.text.slice(0, 200)}`;

describe("fuzz of every operation of the OpenAPI document", () => {
  it(`no 5xx, the envelope, declared statuses (seed ${SEED}, ${RUNS_PER_OPERATION} requests per operation)`, {
    timeout: 240_000,
  }, async () => {
    const started = Date.now();
    const operations = operationsOf(doc);
    const byStatus: Record<string, number> = {};
    const failures: string[] = [];
    let sent = 0;
    for (const [i, operation] of operations.entries()) {
      const requests = fc.sample(requestFor(operation, doc, world), { seed: SEED + i, numRuns: RUNS_PER_OPERATION });
      for (const req of requests) {
        sent++;
        let res: ApiReply;
        try {
          res = await api.call(req.method, req.url, { headers: req.headers, body: req.body });
        } catch (e) {
          failures.push(`no HTTP answer (${(e as Error).message}): ${req.method} ${req.url.slice(0, 160)}`);
          continue;
        }
        byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
        for (const p of problemsOf(req, res)) failures.push(`${p}: ${show(req, res)}`);
      }
    }
    const fivexx = Object.entries(byStatus).reduce((n, [s, c]) => n + (Number(s) >= 500 ? c : 0), 0);
    console.log(
      `fuzz: ${sent} requests over ${operations.length} operations, seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
        `5xx: ${fivexx}, by status ${JSON.stringify(byStatus)}`,
    );
    // The 5xx first: they are what this test is for.
    failures.sort((a, b) => Number(b.startsWith("answered 5")) - Number(a.startsWith("answered 5")));
    expect(failures.slice(0, 25), `seed ${SEED} (FUZZ_SEED=${SEED} to replay): ${failures.length} problems`).toEqual(
      [],
    );
  });
});
