/**
 * The hash chain's row checks done by the database (core/workflows/chain.ts `rowChecksOf`, the
 * SQL in ops.sql.ts `chainRowsToCheck`) find what the same checks in JS (`checkRows`) find, on
 * the same rows: for a log as written (with values whose text Postgres writes otherwise than
 * JSON.stringify, which the database leaves to JS) and for logs edited past the triggers (a row's
 * field, a link, a row removed). The replay verifier relies on it: it no longer hashes rows in JS.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import { query } from "../../core/platform/db/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import * as sql from "../../core/workflows/ops.sql.ts";
import { asKey, checkedTenants, type Who } from "../factories/jobs.ts";
import { recordRun, type TestOp } from "../factories/workflows.ts";
import { asOwner } from "../setup/db-roles.ts";

const tenant = checkedTenants();
const ALL = Number.MAX_SAFE_INTEGER;

const kv = (i: number, extra: Partial<TestOp> = {}): TestOp => ({
  stepId: `s${i}`,
  skill: "kv_store",
  args: { op: "set", key: `k${i}`, value: i },
  result: { op: "set" },
  ...extra,
});

/** Ops whose fields test the database's text of an op: quotes, backslashes, unicode, numbers, nulls. */
const oddOps: TestOp[] = [
  kv(0),
  kv(1, { stepId: 'quote"d', version: null, credits: 0.5 }),
  kv(2, { stepId: "back\\slash", skill: "ünïcödé ✓ 𝄞", credits: 1234.5678 }),
  kv(3, { idempotencyKey: null, credits: 0.0001 }),
  kv(4, { idempotencyKey: 'k"\\"ey', credits: 9999999999.9999 }),
  kv(5, { transient: true, version: "2.0.0-beta+x" }),
  // Below: texts Postgres writes otherwise (a control character): left to JS.
  kv(6, { stepId: "tab\there" }),
  kv(7, { errorCode: "bell\u0007", status: "failed", result: undefined }),
  kv(8, { credits: 0.0002 }),
  kv(9, { status: "failed", result: undefined, errorCode: 'x."failed"\\' }),
];

async function made(w: Who, ops: TestOp[]): Promise<string> {
  const { workflow } = await asKey(w, () =>
    Workflows.register({
      name: `chain-${randomBytes(4).toString("hex")}`,
      steps: ops.map((_, i) => ({ id: `s${i}`, skill: "kv_store", args: { op: "get", key: "k" } })) as never,
    }),
  );
  return recordRun({
    tenantId: w.tenantId,
    definitionId: workflow.id,
    name: workflow.name,
    version: workflow.version,
    stepsTotal: ops.length,
    input: {},
    ops,
    status: "failed",
    errorAt: ops.length - 1,
  });
}

const asTenant = <T>(tenantId: string, fn: () => Promise<T>) =>
  withContext({ requestId: "t", correlationId: "t", actor: { type: "system", name: "test", tenantId } }, fn);

/** Both checks over the run as it is now: the database's (with the head) and JS's over every column. */
async function both(tenantId: string, runId: string) {
  return asTenant(tenantId, async () => {
    const { rows } = await query<{ head_hash: string | null }>("select head_hash from workflow_runs where id = $1", [
      runId,
    ]);
    const head = rows[0]?.head_hash ?? null;
    const ops = await Workflows.opsOf(runId, tenantId);
    return {
      db: Workflows.withHead(await Workflows.rowChecksOf(runId, tenantId, ALL), head),
      js: Workflows.checkRows(runId, ops, head),
    };
  });
}

async function edit(statement: string, params: unknown[]): Promise<void> {
  await asOwner("alter table workflow_ops disable trigger workflow_ops_no_update_delete");
  try {
    await asOwner(statement, params);
  } finally {
    await asOwner("alter table workflow_ops enable trigger workflow_ops_no_update_delete");
  }
}

describe("the chain's row checks in the database", () => {
  it("confirm every row as written whose text JSON.stringify and Postgres write alike, leave the rest to JS", async () => {
    const w = await tenant(0);
    const runId = await made(w, oddOps);
    const { db, js } = await both(w.tenantId, runId);
    expect(js).toEqual([]);
    expect(db).toEqual([]);
    // What the database returned: the rows it did not confirm, and the last one.
    const { rows } = await asTenant(w.tenantId, () =>
      query<{ op_index: number; own_ok: boolean }>(sql.chainRowsToCheck, [runId, w.tenantId, ALL]),
    );
    expect(rows.map((r) => [r.op_index, r.own_ok])).toEqual([
      [6, false],
      [7, false],
      [9, true],
    ]);
  });

  it("find what JS finds in an edited row, a forged link and a removed row", async () => {
    const w = await tenant(0);
    const ops = Array.from({ length: 8 }, (_, i) => kv(i));
    const edited = await made(w, ops);
    await edit("update workflow_ops set step_id = 'other' where workflow_run_id = $1 and op_index = 2", [edited]);
    const linked = await made(w, ops);
    await edit("update workflow_ops set prev_hash = repeat('a', 64) where workflow_run_id = $1 and op_index = 5", [
      linked,
    ]);
    const removed = await made(w, ops);
    await edit("delete from workflow_ops where workflow_run_id = $1 and op_index = 3", [removed]);
    const last = await made(w, ops);
    await edit("delete from workflow_ops where workflow_run_id = $1 and op_index = 7", [last]);
    for (const [runId, kinds] of [
      [edited, ["2:hash"]],
      [linked, ["5:prev_hash", "5:hash"]],
      [removed, ["4:op_index", "4:prev_hash", "5:op_index", "6:op_index", "7:op_index"]],
      [last, ["6:head_hash"]],
    ] as const) {
      const { db, js } = await both(w.tenantId, runId);
      expect(js.map((b) => `${b.op_index}:${b.what}`)).toEqual(kinds);
      expect(db).toEqual(js);
    }
  });

  it("check nothing of another tenant's run, nor of a run past the limit", async () => {
    const [a, b] = [await tenant(0), await tenant(0)];
    const runId = await made(a, [kv(0), kv(1)]);
    const theirs = await asTenant(b.tenantId, () => Workflows.rowChecksOf(runId, b.tenantId, ALL));
    expect(theirs).toEqual({ breaks: [], last: null });
    const past = await asTenant(a.tenantId, () => Workflows.rowChecksOf(runId, a.tenantId, 1));
    expect(past).toEqual({ breaks: [], last: null });
    const mine = await asTenant(a.tenantId, () => Workflows.rowChecksOf(runId, a.tenantId, 2));
    expect(mine.last?.position).toBe(1);
  });
});
