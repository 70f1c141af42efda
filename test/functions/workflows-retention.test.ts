/**
 * Workflow ops retention on real Postgres and s3rver: runs finished more than
 * WORKFLOW_OPS_RETENTION_DAYS ago have their ops exported (every column and hash, the chain
 * checkable from the copy alone), then deleted through workflow_archive_ops, recorded in
 * status_history; recent and running runs keep theirs; the application role still cannot delete
 * or change ops itself; a failing delete after the export leaves everything and the next run
 * completes with the same object; replay and fork of an archived run answer 410 naming the object.
 */
import { createHash, randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AppError } from "../../core/errors.ts";
import { query } from "../../core/platform/db/index.ts";
import { getObject } from "../../core/platform/storage.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { handler as retentionHandler } from "../../functions/cron/workflow-retention.ts";
import { invoke, lambdaContext } from "../events/index.ts";
import { asKey, type Who } from "../factories/jobs.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { recordRun, type TestOp } from "../factories/workflows.ts";
import { asOwner } from "../setup/db-roles.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

const steps = [
  { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: { $ref: "input.value" } } },
  { id: "get", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
  { id: "log", skill: "kv_store", args: { op: "incr", key: "audit" }, transient: true },
];
const opsFor = (key: string, value: unknown): TestOp[] => [
  { stepId: "put", skill: "kv_store", args: { op: "set", key, value }, result: { op: "set" } },
  { stepId: "get", skill: "kv_store", args: { op: "get", key }, result: { op: "get", value, found: true } },
  {
    stepId: "log",
    skill: "kv_store",
    args: { op: "incr", key: "audit" },
    result: { op: "incr", value: 7 },
    transient: true,
  },
];

interface T {
  who: Who;
  key: string;
  def: { id: string; name: string; version: number };
}

async function tenant(): Promise<T> {
  const t = await makeTenantWithKeys();
  const who = { tenantId: t.tenant.id, keyId: t.keys.agent.id };
  const { workflow } = await asKey(who, () =>
    Workflows.register({ name: `wf-${randomBytes(4).toString("hex")}`, steps: steps as never }),
  );
  return { who, key: t.keys.agent.key, def: workflow };
}

/** A run of `t` with `ops`, in `status`, finished `daysAgo` days ago (running: created then). */
async function run(
  t: T,
  o: { status?: "completed" | "failed" | "cancelled" | "running"; daysAgo: number; ops?: TestOp[] },
) {
  const status = o.status ?? "completed";
  const id = await recordRun({
    tenantId: t.who.tenantId,
    definitionId: t.def.id,
    name: t.def.name,
    version: t.def.version,
    stepsTotal: steps.length,
    input: { key: "k", value: { n: 1 } },
    ops: o.ops ?? opsFor("k", { n: 1 }),
    status,
    ...(status === "failed" ? { errorAt: 2 } : {}),
  });
  const at = new Date(Date.now() - o.daysAgo * 86_400_000);
  await query(
    "update workflow_runs set created_at = CAST($2 AS timestamptz), finished_at = case when status = 'running' then null else CAST($2 AS timestamptz) end where id = $1",
    [id, at],
  );
  return id;
}

const opCount = async (runId: string) =>
  (await query<{ n: number }>("select count(*)::int as n from workflow_ops where workflow_run_id = $1", [runId]))
    .rows[0]?.n;

async function objectLines(key: string) {
  const o = await getObject(key);
  const chunks: Buffer[] = [];
  for await (const c of o.body) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const lines = gunzipSync(bytes).toString("utf8").trimEnd().split("\n").filter(Boolean);
  return { sha256: createHash("sha256").update(bytes).digest("hex"), ops: lines.map((l) => JSON.parse(l)) };
}

const appRole = async () => (await query<{ r: string }>("select current_user as r")).rows[0]?.r as string;

describe("workflow ops retention", () => {
  it("exports old finished runs' ops with every hash, deletes them, records it; recent and running runs keep theirs", async () => {
    const a = await tenant();
    const b = await tenant();
    const old = await run(a, { daysAgo: 40 });
    const oldFailed = await run(a, { status: "failed", daysAgo: 31 });
    const oldOfB = await run(b, { status: "cancelled", daysAgo: 45, ops: opsFor("b-key", "b-secret-value") });
    const recent = await run(a, { daysAgo: 10 });
    const running = await run(a, { status: "running", daysAgo: 60 });
    const before = Object.fromEntries(
      await Promise.all(
        [old, oldFailed, oldOfB].map(async (id) => [
          id,
          await Workflows.opsOf(id, id === oldOfB ? b.who.tenantId : a.who.tenantId),
        ]),
      ),
    );
    const heads = Object.fromEntries(
      (
        await query<{ id: string; head_hash: string }>("select id, head_hash from workflow_runs where id = any($1)", [
          [old, oldFailed, oldOfB],
        ])
      ).rows.map((r) => [r.id, r.head_hash]),
    );
    const archivedBefore = await metricValue("aos_workflow_retention_runs_archived_total");

    const r = await Workflows.archiveOldRuns();

    expect(r.failed).toEqual([]);
    const mine = r.archived.filter((x) => [old, oldFailed, oldOfB].includes(x.run_id));
    expect(mine.map((x) => x.run_id).sort()).toEqual([old, oldFailed, oldOfB].sort());
    expect(r.archived.map((x) => x.run_id)).not.toContain(recent);
    expect(r.archived.map((x) => x.run_id)).not.toContain(running);
    for (const x of mine) {
      const tenantId = x.run_id === oldOfB ? b.who.tenantId : a.who.tenantId;
      expect(x.object_key).toBe(`workflows/ops-archive/tenant=${tenantId}/run=${x.run_id}.jsonl.gz`);
      const copy = await objectLines(x.object_key);
      expect(copy.sha256, "the recorded SHA-256 is the object's").toBe(x.sha256);
      // Every op, every column, as the log had it; the chain checks from the copy alone.
      const had = before[x.run_id] as Workflows.OpRecord[];
      expect(copy.ops).toEqual(had.map((o) => ({ workflow_run_id: x.run_id, tenant_id: tenantId, ...o })));
      expect(copy.ops.every((o: Record<string, unknown>) => o.args_hash && o.hash && "prev_hash" in o)).toBe(true);
      expect(Workflows.checkChain(x.run_id, copy.ops, heads[x.run_id] ?? null)).toEqual([]);
      expect(
        copy.ops.every((o: { tenant_id: string }) => o.tenant_id === tenantId),
        "one tenant per object",
      ).toBe(true);
      expect(await opCount(x.run_id)).toBe(0);
      const { rows: h } = await query<{
        new_status: string;
        old_status: string;
        tenant_id: string;
        metadata: Record<string, unknown>;
      }>(
        "select new_status, old_status, tenant_id, metadata from status_history where entity_type = 'workflow_run' and entity_id = $1 and new_status = 'ops_archived'",
        [x.run_id],
      );
      expect(h).toHaveLength(1);
      expect(h[0]?.tenant_id).toBe(tenantId);
      expect(h[0]?.metadata).toMatchObject({ object_key: x.object_key, ops: had.length, sha256: x.sha256 });
    }
    expect(await opCount(recent)).toBe(3);
    expect(await opCount(running)).toBe(3);
    expect(await metricValue("aos_workflow_retention_runs_archived_total")).toBe(archivedBefore + r.archived.length);

    // A second run finds nothing more of these to do.
    const again = await Workflows.archiveOldRuns();
    expect(again.archived.map((x) => x.run_id)).not.toContain(old);
  });

  it("the application role still cannot delete or change ops, and the one path refuses what it must", async () => {
    const a = await tenant();
    const recent = await run(a, { daysAgo: 2 });
    const old = await run(a, { daysAgo: 40 });
    /** The statement fails with Postgres' `code` and a message matching `why`. */
    const refused = async (sql: string, params: unknown[], code: string, why: RegExp) => {
      const e = await query(sql, params).catch((x: unknown) => x);
      expect(e, sql).toBeInstanceOf(AppError);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      expect(cause?.code, `${sql}: ${cause?.message}`).toBe(code);
      expect(cause?.message).toMatch(why);
    };
    const denied = /permission denied for table workflow_ops/;
    await refused("delete from workflow_ops where workflow_run_id = $1", [old], "42501", denied);
    // Naming the run in the trigger's setting gives the application nothing: it has no DELETE.
    await refused(
      "with s as (select set_config('aos.workflow_ops_archive_run', $1, false)) delete from workflow_ops where workflow_run_id = (select CAST($1 AS uuid) from s)",
      [old],
      "42501",
      denied,
    );
    await refused("update workflow_ops set result = '{}' where workflow_run_id = $1", [old], "42501", denied);
    const cutoff = new Date(Date.now() - 30 * 86_400_000);
    const archive = "select workflow_archive_ops($1, $2, $3)";
    // No export recorded yet: refused, even for an old run.
    await refused(archive, [a.who.tenantId, old, cutoff], "55000", /has no recorded export/);
    // An export row that does not cover the ops (one op short): refused.
    await query(
      "insert into workflow_ops_archives (workflow_run_id, tenant_id, object_key, sha256, ops, head_hash, bytes, exported_at) select id, tenant_id, 'x', repeat('0', 64), 2, head_hash, 0, now() from workflow_runs where id = $1",
      [old],
    );
    await refused(archive, [a.who.tenantId, old, cutoff], "55000", /covers 2 ops .* the log has 3/);
    // A run that finished after the cutoff, a cutoff in the future, another tenant: refused.
    await refused(archive, [a.who.tenantId, recent, cutoff], "55000", /did not finish before/);
    await refused(archive, [a.who.tenantId, recent, new Date(Date.now() + 86_400_000)], "55000", /in the future/);
    const b = await tenant();
    await refused(archive, [b.who.tenantId, old, cutoff], "P0002", /not found/);
    expect(await opCount(old)).toBe(3);
    expect(await opCount(recent)).toBe(3);
    // The owner may DELETE by privilege, and the trigger still refuses it outside the function.
    await expect(asOwner("delete from workflow_ops where workflow_run_id = $1", [old])).rejects.toThrow(/append-only/);
    // The owner's TRUNCATE is still refused by the trigger.
    await expect(asOwner("truncate workflow_ops cascade")).rejects.toThrow(/append-only/);
  });

  it("a delete that fails after the export leaves every op; the next run exports the same bytes and deletes", async () => {
    const a = await tenant();
    const old = await run(a, { daysAgo: 50 });
    const role = await appRole();
    await asOwner(`revoke execute on function workflow_archive_ops(uuid, uuid, timestamptz) from "${role}"`);
    let first: Workflows.WorkflowRetentionResult;
    try {
      first = await Workflows.archiveOldRuns();
    } finally {
      await asOwner(`grant execute on function workflow_archive_ops(uuid, uuid, timestamptz) to "${role}"`);
    }
    expect(first.failed.find((f) => f.run_id === old)).toMatchObject({ stage: "delete" });
    expect(first.archived.map((x) => x.run_id)).not.toContain(old);
    expect(await opCount(old), "nothing deleted").toBe(3);
    const { rows: exp } = await query<{ sha256: string; deleted_at: string | null; ops: number }>(
      "select sha256, deleted_at, ops from workflow_ops_archives where workflow_run_id = $1",
      [old],
    );
    expect(exp[0]).toMatchObject({ deleted_at: null, ops: 3 });
    const { rows: none } = await query(
      "select 1 from status_history where entity_id = $1 and new_status = 'ops_archived'",
      [old],
    );
    expect(none).toHaveLength(0);
    // Replay still works on a run whose delete failed: its ops are all there.
    const verified = await asKey(a.who, () => Workflows.replay(old, { mode: "verify" }));
    expect(verified.status).toBe("verified");

    const second = await Workflows.archiveOldRuns();
    const done = second.archived.find((x) => x.run_id === old);
    expect(done?.sha256, "the rerun wrote the same bytes").toBe(exp[0]?.sha256);
    expect(await opCount(old)).toBe(0);
  });

  it("replay and fork of an archived run answer 410 naming the object; GET shows where the ops went", async () => {
    const a = await tenant();
    const old = await run(a, { daysAgo: 40 });
    const r = await Workflows.archiveOldRuns();
    const arch = r.archived.find((x) => x.run_id === old);
    expect(arch).toBeDefined();
    const replay = await invoke("POST", `/api/v1/workflows/runs/${old}/replay`, {
      key: a.key,
      body: { mode: "verify" },
    });
    expect(replay.status, replay.text).toBe(410);
    expect(replay.body.error.code).toBe("workflows.run_archived");
    expect(replay.body.error.details).toMatchObject({
      run_id: old,
      object_key: arch?.object_key,
      ops: 3,
      sha256: arch?.sha256,
    });
    const fork = await invoke("POST", `/api/v1/workflows/runs/${old}/fork`, { key: a.key, body: { from_op_index: 1 } });
    expect(fork.status, fork.text).toBe(410);
    const got = await invoke("GET", `/api/v1/workflows/runs/${old}`, { key: a.key });
    expect(got.status, got.text).toBe(200);
    expect(got.body.ops).toEqual([]);
    expect(got.body.ops_archive).toMatchObject({ object_key: arch?.object_key, ops: 3 });
    // Another tenant's key still gets a 404, not the archive.
    const other = await makeTenantWithKeys();
    const theirs = await invoke("POST", `/api/v1/workflows/runs/${old}/replay`, {
      key: other.keys.agent.key,
      body: {},
    });
    expect(theirs.status).toBe(404);
  });

  it("the cron reports what it did and fails when a run could not be archived", async () => {
    const ok = (await retentionHandler({}, lambdaContext())) as { archived: number; failed: number };
    expect(ok.failed).toBe(0);
    const a = await tenant();
    const old = await run(a, { daysAgo: 40 });
    const role = await appRole();
    await asOwner(`revoke execute on function workflow_archive_ops(uuid, uuid, timestamptz) from "${role}"`);
    try {
      await expect(retentionHandler({}, lambdaContext())).rejects.toMatchObject({ code: "workflows.retention_failed" });
    } finally {
      await asOwner(`grant execute on function workflow_archive_ops(uuid, uuid, timestamptz) to "${role}"`);
    }
    expect(await metricValue('aos_workflow_retention_failures_total{stage="delete"}')).toBeGreaterThan(0);
    expect(await opCount(old)).toBe(3);
  });
});
