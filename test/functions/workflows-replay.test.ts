/**
 * The replay verifier: a run made by the real runner verifies over HTTP (verify and
 * against_version); a mutation corpus (reordered steps, renamed skill, changed args, a changed
 * result of a deterministic op, an inserted and a deleted op, error <-> success, a skill version
 * bump, an edited op row) is each detected at the right op with the right RFC 6902 diff; 1,000
 * unchanged runs verify with 0 false mismatches. Deterministic ops (voyage_embed) are run again
 * against a real loopback Voyage server; side-effecting ones never are.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flushMetrics, renderMetrics } from "../../core/platform/metrics/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { invoke } from "../events/index.ts";
import { asKey, checkedKeyedTenants, jobsTenant, type Who } from "../factories/jobs.ts";
import {
  drainSteps,
  recordRun,
  registerWorkflow,
  startRun,
  stepMessages,
  type TestOp,
} from "../factories/workflows.ts";
import { withConfig } from "../setup/config-override.ts";
import { asOwner } from "../setup/db-roles.ts";
import { expectedTokens, expectedVector, startVoyageServer, type VoyageServer } from "../setup/voyage-server.ts";

const tenant = checkedKeyedTenants();
const tag = () => randomBytes(4).toString("hex");
const API_KEY = "vk-replay-test";
let voyage: VoyageServer;

beforeAll(async () => {
  voyage = await startVoyageServer({ apiKey: API_KEY });
  await stepMessages();
});
afterAll(() => voyage.close());

const withVoyage = <T>(fn: () => Promise<T>) =>
  withConfig({ VOYAGE_API_KEY: API_KEY, VOYAGE_BASE_URL: voyage.url, SKILL_RETRY_BASE_MS: "5" }, fn);

/** put -> get -> log (transient) -> echo the value got: kv_store only (every op side-effecting). */
const kvSteps = [
  { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: { $ref: "input.value" } } },
  { id: "get", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
  { id: "log", skill: "kv_store", args: { op: "incr", key: "audit" }, transient: true },
  { id: "echo", skill: "kv_store", args: { op: "set", key: "echo", value: { $ref: "steps.get.result.value" } } },
];

/** The ops the runner records for kvSteps with input {key, value}, written out by hand. */
const kvOps = (key: string, value: unknown): TestOp[] => [
  { stepId: "put", skill: "kv_store", args: { op: "set", key, value }, result: { op: "set" } },
  { stepId: "get", skill: "kv_store", args: { op: "get", key }, result: { op: "get", value, found: true } },
  {
    stepId: "log",
    skill: "kv_store",
    args: { op: "incr", key: "audit" },
    result: { op: "incr", value: 7 },
    transient: true,
  },
  { stepId: "echo", skill: "kv_store", args: { op: "set", key: "echo", value }, result: { op: "set" } },
];

/** embed a text (deterministic, no side effect) -> store its model name (side-effecting). */
const embedSteps = [
  { id: "embed", skill: "voyage_embed", args: { input: [{ $ref: "input.text" }] } },
  { id: "store", skill: "kv_store", args: { op: "set", key: "model", value: { $ref: "steps.embed.result.model" } } },
];
const embedResult = (text: string) => ({
  model: "voyage-3.5",
  embeddings: [expectedVector(text)],
  usage: { total_tokens: expectedTokens(text) },
  batches: 1,
});
const embedOps = (text: string): TestOp[] => [
  { stepId: "embed", skill: "voyage_embed", args: { input: [text] }, result: embedResult(text) },
  { stepId: "store", skill: "kv_store", args: { op: "set", key: "model", value: "voyage-3.5" }, result: { op: "set" } },
];

interface Def {
  id: string;
  name: string;
  version: number;
  steps: unknown[];
}

async function define(w: Who, steps: unknown[]): Promise<Def> {
  const { workflow } = await asKey(w, () => Workflows.register({ name: `wf-${tag()}`, steps: steps as never }));
  return workflow;
}

function record(
  w: Who,
  def: Def,
  input: Record<string, unknown>,
  ops: TestOp[],
  status = "completed",
  errorAt?: number,
) {
  return recordRun({
    tenantId: w.tenantId,
    definitionId: def.id,
    name: def.name,
    version: def.version,
    stepsTotal: def.steps.length,
    input,
    ops,
    status: status as "completed",
    ...(errorAt === undefined ? {} : { errorAt }),
  });
}

const verify = (w: Who, runId: string, body: Record<string, unknown> = { mode: "verify" }) =>
  withVoyage(() => asKey(w, () => Workflows.replay(runId, body as never)));

describe("a run made by the runner", () => {
  it("verifies over HTTP; against a version with other args it mismatches at the first op those change", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, kvSteps);
    const run = await startRun(t.keys.agent.key, name, { input: { key: "k", value: { n: 1 } } });
    expect(await drainSteps()).toBe(1); // one delivery runs every op (WORKFLOW_STEP_CHAIN_S)

    const res = await invoke("POST", `/api/v1/workflows/runs/${run.id}/replay`, {
      key: t.keys.agent.key,
      body: { mode: "verify" },
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({
      mode: "verify",
      version: 1,
      status: "verified",
      ops_total: 4,
      ops_verified: 3,
      ops_failed: 0,
      ops_skipped: 1,
      first_mismatch_op_index: null,
      mismatch_diff: null,
      severity: null,
    });
    const got = await invoke("GET", res.headers.location as string, { key: t.keys.viewer.key });
    expect(got.body).toEqual(res.body);

    // Version 2 echoes under another key: the run's op 3 no longer matches it.
    const changed = kvSteps.map((s) => (s.id === "echo" ? { ...s, args: { ...s.args, key: "echo2" } } : s));
    await registerWorkflow(t.keys.agent.key, name, changed);
    const against = await invoke("POST", `/api/v1/workflows/runs/${run.id}/replay`, {
      key: t.keys.agent.key,
      body: { mode: "against_version", version: 2 },
    });
    expect(against.body).toMatchObject({
      mode: "against_version",
      version: 2,
      status: "mismatch",
      first_mismatch_op_index: 3,
      mismatch_diff: [{ op: "replace", path: "/ops/3/args/key", value: "echo" }],
      severity: "CRITICAL",
      ops_failed: 1,
    });
    const missing = await invoke("POST", `/api/v1/workflows/runs/${run.id}/replay`, {
      key: t.keys.agent.key,
      body: { mode: "against_version" },
    });
    expect(missing.status).toBe(400);
  });

  it("fork reuses the results before the op, runs the rest, records the lineage, and verifies", async () => {
    const t = await tenant(50);
    const name = `wf-${tag()}`;
    await registerWorkflow(t.keys.agent.key, name, kvSteps);
    const run = await startRun(t.keys.agent.key, name, { input: { key: "k", value: "v1" } });
    await drainSteps();
    const fork = await invoke("POST", `/api/v1/workflows/runs/${run.id}/fork`, {
      key: t.keys.agent.key,
      body: { from_op_index: 2 },
    });
    expect(fork.status, fork.text).toBe(202);
    expect(fork.body).toMatchObject({
      forked_from: run.id,
      fork_op_index: 2,
      next_op_index: 2,
      credits: { reserved: 2 },
    });
    expect(await drainSteps()).toBe(1); // the fork's first message runs ops 2 and 3
    const forked = (await invoke("GET", `/api/v1/workflows/runs/${fork.body.id}`, { key: t.keys.viewer.key })).body;
    expect(forked.status).toBe("completed");
    expect(forked.ops.map((o: { credits: number }) => o.credits)).toEqual([0, 0, 1, 1]);
    expect(forked.ops[3].args).toEqual({ op: "set", key: "echo", value: "v1" });
    const v = await invoke("POST", `/api/v1/workflows/runs/${fork.body.id}/replay`, {
      key: t.keys.agent.key,
      body: {},
    });
    expect(v.body.status).toBe("verified");
    const beyond = await invoke("POST", `/api/v1/workflows/runs/${run.id}/fork`, {
      key: t.keys.agent.key,
      body: { from_op_index: 4 },
    });
    expect(beyond.status).toBe(400);
    expect(beyond.body.error.details.fields[0].field).toBe("body.from_op_index");
  });
});

describe("the mutation corpus", () => {
  let w: Who;
  let kv: Def;
  let em: Def;
  beforeAll(async () => {
    w = await jobsTenant(0);
    kv = await define(w, kvSteps);
    em = await define(w, embedSteps);
  });

  const V = { deep: [1, 2] };
  const base = () => kvOps("k", V);

  it("the unchanged runs verify (kv only, and with a deterministic op run again)", async () => {
    const a = await verify(w, await record(w, kv, { key: "k", value: V }, base()));
    expect(a).toMatchObject({ status: "verified", ops_verified: 3, ops_skipped: 1, ops_failed: 0 });
    voyage.reset();
    const b = await verify(w, await record(w, em, { text: "hello world" }, embedOps("hello world")));
    expect(b, JSON.stringify(b.mismatches)).toMatchObject({ status: "verified", ops_verified: 2, ops_failed: 0 });
    expect(voyage.requests).toHaveLength(1); // the embed ran again; the kv_store op did not
  });

  const cases: [string, () => TestOp[], { status?: string; errorAt?: number }, number, unknown[], string][] = [
    [
      "reordered steps",
      () => {
        const o = base();
        return [o[0], o[3], o[2], o[1]] as TestOp[];
      },
      {},
      1,
      [
        { op: "replace", path: "/ops/1/args/key", value: "echo" },
        { op: "add", path: "/ops/1/args/value", value: V },
        { op: "replace", path: "/ops/1/args/op", value: "set" },
      ],
      "CRITICAL",
    ],
    [
      "a renamed skill",
      () => base().map((o, i) => (i === 1 ? { ...o, skill: "kv_store_v2" } : o)),
      {},
      1,
      [{ op: "replace", path: "/ops/1/op_type", value: "kv_store_v2" }],
      "CRITICAL",
    ],
    [
      "changed args",
      () => base().map((o, i) => (i === 0 ? { ...o, args: { op: "set", key: "k", value: { deep: [1, 3] } } } : o)),
      {},
      0,
      [{ op: "replace", path: "/ops/0/args/value/deep/1", value: 3 }],
      "CRITICAL",
    ],
    [
      "an inserted op",
      () => {
        const o = base();
        return [
          o[0],
          o[1],
          {
            stepId: "extra",
            skill: "kv_store",
            args: { op: "delete", key: "k" },
            result: { op: "delete", deleted: 1 },
          },
          o[2],
          o[3],
        ].map((x, i) => ({ ...x, index: i })) as TestOp[];
      },
      {},
      2,
      [{ op: "replace", path: "/ops/2/step_id", value: "extra" }],
      "CRITICAL",
    ],
    [
      "a deleted op",
      () => base().flatMap((o, i) => (i === 1 ? [] : [{ ...o, index: i }])),
      {},
      1,
      [{ op: "remove", path: "/ops/1" }],
      "CRITICAL",
    ],
    [
      "an error turned success (the run failed at that op)",
      () => base().slice(0, 2),
      { status: "failed", errorAt: 1 },
      1,
      [{ op: "replace", path: "/ops/1/status", value: "succeeded" }],
      "CRITICAL",
    ],
    [
      "a success turned error (later ops ran)",
      () =>
        base().map((o, i) =>
          i === 1 ? { ...o, status: "failed" as const, result: undefined, errorCode: "x.failed" } : o,
        ),
      {},
      1,
      [{ op: "replace", path: "/ops/1/status", value: "failed" }],
      "CRITICAL",
    ],
    [
      "a skill version bump",
      () => base().map((o, i) => (i === 3 ? { ...o, version: "0.9.0" } : o)),
      {},
      3,
      [{ op: "replace", path: "/ops/3/skill_version", value: "0.9.0" }],
      "CRITICAL",
    ],
  ];

  for (const [what, ops, run, first, patch, severity] of cases)
    it(`${what}: first mismatch at op ${first}`, async () => {
      const id = await record(w, kv, { key: "k", value: V }, ops(), run.status, run.errorAt);
      const r = await verify(w, id);
      expect(r.status).toBe("mismatch");
      expect(r.first_mismatch_op_index).toBe(first);
      expect(r.mismatch_diff).toEqual(expect.arrayContaining(patch as never[]));
      expect(r.severity).toBe(severity);
    });

  it("a changed result of a deterministic op (run again and compared): WARNING, the diff names the value", async () => {
    const ops = embedOps("hello world");
    const changed = structuredClone(ops[0]?.result) as { embeddings: number[][] };
    (changed.embeddings[0] as number[])[2] = 0.5;
    const id = await record(w, em, { text: "hello world" }, [
      { ...(ops[0] as TestOp), result: changed },
      ops[1] as TestOp,
    ]);
    const r = await verify(w, id);
    expect(r).toMatchObject({ status: "mismatch", first_mismatch_op_index: 0, severity: "WARNING" });
    expect(r.mismatch_diff).toEqual(
      expect.arrayContaining([
        { op: "replace", path: "/ops/0/result/embeddings/0/2", value: 0.5 },
        { op: "replace", path: "/ops/0/result_hash", value: Workflows.hashJson(changed) },
      ]),
    );
  });

  it("a deterministic op's error turned success, and its success turned error, are found by running it again", async () => {
    const ops = embedOps("hello world");
    // Recorded as failed, the run failed there: running it again succeeds.
    const failed = await record(
      w,
      em,
      { text: "hello world" },
      [{ ...(ops[0] as TestOp), status: "failed", result: undefined, errorCode: "skills.upstream_error" }],
      "failed",
      0,
    );
    const a = await verify(w, failed);
    expect(a).toMatchObject({ status: "mismatch", first_mismatch_op_index: 0 });
    expect(a.mismatch_diff).toEqual(
      expect.arrayContaining([{ op: "replace", path: "/ops/0/status", value: "failed" }]),
    );
    // Recorded as succeeded: running it again is refused (a 400 from Voyage, not retryable).
    const ok = await record(w, em, { text: "hello world" }, ops);
    voyage.failNext(1, 400);
    const b = await verify(w, ok);
    voyage.reset();
    expect(b).toMatchObject({ status: "mismatch", first_mismatch_op_index: 0 });
    expect(b.mismatch_diff).toEqual(
      expect.arrayContaining([{ op: "replace", path: "/ops/0/status", value: "succeeded" }]),
    );
  });

  it("an op row edited in the database (as its owner, past the triggers) breaks the chain at that op", async () => {
    const id = await record(w, kv, { key: "k", value: V }, base());
    expect((await verify(w, id)).status).toBe("verified");
    await asOwner("alter table workflow_ops disable trigger workflow_ops_no_update_delete");
    try {
      await asOwner(
        `update workflow_ops set result = CAST($2 AS jsonb), result_hash = encode(sha256(convert_to($3, 'UTF8')), 'hex')
         where workflow_run_id = $1 and op_index = 1`,
        [id, '{"found":true,"op":"get","value":"forged"}', '{"found":true,"op":"get","value":"forged"}'],
      );
    } finally {
      await asOwner("alter table workflow_ops enable trigger workflow_ops_no_update_delete");
    }
    const r = await verify(w, id);
    expect(r).toMatchObject({ status: "mismatch", first_mismatch_op_index: 1, severity: "CRITICAL" });
    expect(r.mismatch_diff).toEqual(
      expect.arrayContaining([expect.objectContaining({ op: "replace", path: "/ops/1/hash" })]),
    );
  });

  it("1,000 unchanged runs verify with 0 false mismatches; the replay metrics count them", async () => {
    const before = await sample("m11_replay_ops_mismatched_total");
    // Eight at a time: the database's round trips overlap, as concurrent replays would.
    const inEights = async <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> => {
      const out: T[] = [];
      for (let i = 0; i < n; i += 8)
        out.push(...(await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, j) => fn(i + j)))));
      return out;
    };
    const runs = await inEights(1000, (i) => {
      const value = i % 3 === 0 ? { i, tags: ["a", `t${i}`] } : i % 3 === 1 ? `value ${i}` : i;
      return record(w, kv, { key: `k${i}`, value }, kvOps(`k${i}`, value));
    });
    let mismatches = 0;
    let verified = 0;
    for (const r of await inEights(runs.length, (i) => verify(w, runs[i] as string))) {
      if (r.status !== "verified") mismatches++;
      verified += r.ops_verified ?? 0;
    }
    expect(mismatches).toBe(0);
    expect(verified).toBe(3000);
    expect(await sample("m11_replay_ops_mismatched_total")).toBe(before);
    expect(await sample('m11_replay_runs_total{mode="verify",status="verified"}')).toBeGreaterThanOrEqual(1000);
  }, 360_000);
});

async function sample(line: string): Promise<number> {
  await flushMetrics();
  const { body } = await renderMetrics();
  const found = body.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}
