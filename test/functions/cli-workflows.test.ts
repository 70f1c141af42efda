/**
 * `aos workflows ...` and `aos replay verify|fork` end to end, as a user runs them: the real `aos`
 * process (bin/aos.js) over HTTP to the real handlers served in-process by the local runtime,
 * whose SQS poller feeds the WorkflowSteps queue's real handler (kv_store steps on Redis).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import * as Workflows from "../../core/workflows/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { type AosRun, runAos } from "../setup/aos-cli.ts";
import { asOwner } from "../setup/db-roles.ts";
import { type LocalApi, startLocalApi } from "../setup/local-api.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let api: LocalApi;
let baseUrl: string;
const dir = mkdtempSync(join(tmpdir(), "aos-cli-workflows-"));

beforeAll(async () => {
  t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 100);
  api = await startLocalApi({ pollers: ["WorkflowSteps"] });
  baseUrl = api.url;
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function aos(args: string[], key = t.keys.agent.key): Promise<AosRun> {
  return runAos(args, { AOS_URL: baseUrl, AOS_KEY: key });
}

async function finished(runId: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await query<{ status: string }>("select status from workflow_runs where id = $1", [runId]);
    if (rows[0] && rows[0].status !== "running") return rows[0].status;
    await sleep(100);
  }
  throw new Error(`run ${runId} did not finish`);
}

describe("aos workflows and aos replay", { timeout: 120_000 }, () => {
  it("registers, runs to completion over the queue, lists, gets, verifies in bulk, finds a tampered run, forks", async () => {
    const file = join(dir, "greet.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "greet",
        steps: [
          { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: "hello" } },
          { id: "get", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
        ],
      }),
    );
    const reg = await aos(["workflows", "register", file]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stdout).toContain("workflow greet version 1");

    const ids: string[] = [];
    for (const key of ["a", "b", "c"]) {
      const run = await aos(["workflows", "run", "greet", "--input", JSON.stringify({ key })]);
      expect(run.code, run.stderr).toBe(0);
      ids.push(JSON.parse(run.stdout).id);
    }
    for (const id of ids) expect(await finished(id)).toBe("completed");

    const list = await aos(["workflows", "list", "--workflow", "greet"]);
    expect(list.stdout.trim().split("\n")).toHaveLength(3);
    const got = await aos(["workflows", "get", ids[0] as string]);
    expect(JSON.parse(got.stdout).ops).toHaveLength(2);

    const all = await aos(["replay", "verify", "--workflow", "greet", "--status", "completed"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("3 runs, 6 ops: 3 verified, 0 mismatched");
    expect(all.stderr).toContain("3/3");

    // Run b's op 1 edited by the table's owner past the triggers: the bulk verification finds it.
    await asOwner("alter table workflow_ops disable trigger workflow_ops_no_update_delete");
    try {
      await asOwner(
        `update workflow_ops set result = CAST('{"op":"get","value":"forged","found":true}' AS jsonb)
         where workflow_run_id = $1 and op_index = 1`,
        [ids[1]],
      );
    } finally {
      await asOwner("alter table workflow_ops enable trigger workflow_ops_no_update_delete");
    }
    const again = await aos(["replay", "verify", "--workflow", "greet"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("3 runs, 6 ops: 2 verified, 1 mismatched");
    expect(again.stdout).toMatch(new RegExp(`${ids[1]}\\s+mismatch.*first mismatch op 1 CRITICAL`));

    const fork = await aos(["replay", "fork", ids[0] as string, "--from", "1"]);
    expect(fork.code, fork.stderr).toBe(0);
    const forked = JSON.parse(fork.stdout);
    expect(forked).toMatchObject({ forked_from: ids[0], fork_op_index: 1 });
    expect(await finished(forked.id)).toBe("completed");
    expect((await aos(["replay", "verify", forked.id])).code).toBe(0);

    const cancelDone = await aos(["workflows", "cancel", ids[2] as string]);
    expect(cancelDone.code).toBe(1);
    expect(cancelDone.stderr).toContain("workflows.run_not_running");
    expect((await aos(["replay", "verify"])).code).toBe(2);
  });

  it("bulk verification lists a run whose ops retention archived as archived, not as a mismatch", async () => {
    const file = join(dir, "aged.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "aged",
        steps: [
          { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: "v" } },
          { id: "get", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } },
        ],
      }),
    );
    expect((await aos(["workflows", "register", file])).code).toBe(0);
    const ids: string[] = [];
    for (const key of ["old", "new"]) {
      const run = await aos(["workflows", "run", "aged", "--input", JSON.stringify({ key })]);
      ids.push(JSON.parse(run.stdout).id);
    }
    for (const id of ids) expect(await finished(id)).toBe("completed");
    await query("update workflow_runs set finished_at = now() - interval '40 days' where id = $1", [ids[0]]);
    const r = await Workflows.archiveOldRuns();
    expect(r.archived.map((x) => x.run_id)).toEqual([ids[0]]);

    const bulk = await aos(["replay", "verify", "--workflow", "aged"]);
    expect(bulk.code, bulk.stderr).toBe(0);
    expect(bulk.stdout).toMatch(new RegExp(`${ids[0]}\\s+archived\\s+ops 2 archived to workflows/ops-archive/`));
    expect(bulk.stdout).toContain("2 runs, 2 ops: 1 verified, 0 mismatched, 1 archived");
    const one = await aos(["replay", "verify", ids[0] as string]);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain("workflows.run_archived");
  });
});
