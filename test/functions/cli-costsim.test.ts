/**
 * `aos costsim simulate|status|reset|incidents|canary-run|canary-reports|divergence` as child
 * processes against a local AOS serving the real handlers: a plan priced from a file, a bad one
 * refused naming its field, the breaker read, a reset refused to a non-admin key and done by an
 * admin, a canary run and its report listed and read, and the divergence report.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { runAos } from "../setup/aos-cli.ts";
import { type LocalApi, startLocalApi } from "../setup/local-api.ts";

let api: LocalApi;
let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
const dir = mkdtempSync(join(tmpdir(), "aos-cli-costsim-"));
beforeAll(async () => {
  api = await startLocalApi();
  t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 100);
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

async function aos(key: string, ...args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  const r = await runAos(args, { AOS_URL: api.url, AOS_KEY: key });
  return { code: r.code, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

const steps = [
  { id: "put", skill: "kv_store", args: { op: "set", key: { $ref: "input.key" }, value: 1 } },
  { id: "embed", skill: "voyage_embed", args: { input: ["a", "b", "c"] } },
];

describe("aos costsim (against a running AOS)", () => {
  it("simulate prices a plan from a file (V1, or V2 alone), checks it against a budget, and refuses a bad one naming its field", async () => {
    const plan = file("plan.json", { workflow: { steps } });
    const v1 = await aos(t.keys.agent.key, "costsim", "simulate", plan, "--input", '{"key":"k"}');
    expect(v1.code, v1.stderr).toBe(0);
    // kv_store 1 per call, voyage_embed 1 + 0.1 per input (the skills' cost models).
    expect(v1.json).toMatchObject({ version: "v1", kind: "workflow", credits: 2.3 });
    expect(v1.json.steps).toHaveLength(2);

    // A workflow file as `aos workflows register` takes it ({name, steps}, or a steps array) is priced the same.
    for (const doc of [{ name: "digest", steps }, steps]) {
      const same = await aos(t.keys.agent.key, "costsim", "simulate", file("wf.json", doc), "--input", '{"key":"k"}');
      expect(same.json, same.stderr).toMatchObject({ credits: 2.3 });
    }

    const tight = await aos(t.keys.agent.key, "costsim", "simulate", plan, "--input", '{"key":"k"}', "--budget", "1");
    expect(tight.json.feasibility).toMatchObject({ basis: "budget", feasible: false });

    const v2 = await aos(t.keys.operator.key, "costsim", "simulate", plan, "--input", '{"key":"k"}', "--v2");
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.json.version).toMatch(/^v2/);
    // V2 alone is an operator's.
    const refused = await aos(t.keys.agent.key, "costsim", "simulate", plan, "--v2");
    expect(refused.code).toBe(1);
    expect(refused.json.error.code).toBe("auth.forbidden");

    const bad = file("bad.json", { workflow: { steps: [{ id: "x", skill: "no_such_skill", args: {} }] } });
    const r = await aos(t.keys.agent.key, "costsim", "simulate", bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("HTTP 400");
    expect(r.json.error.details.fields.map((f: { field: string }) => f.field)).toEqual([
      "body.plan.workflow.steps.0.skill",
    ]);

    const missing = await aos(t.keys.agent.key, "costsim", "simulate", join(dir, "nope.json"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such file");
    const notJson = join(dir, "not.json");
    writeFileSync(notJson, "{");
    const usage = await aos(t.keys.agent.key, "costsim", "simulate", notJson);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("not JSON");
    expect((await aos(t.keys.agent.key, "costsim", "simulate", plan, "--budget", "lots")).code).toBe(2);
  }, 60_000);

  it("status, reset, incidents, canary-run, canary-reports and divergence, with the roles the routes ask for", async () => {
    const status = await aos(t.keys.viewer.key, "costsim", "status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.json.breaker).toMatchObject({ state: expect.stringMatching(/^(CLOSED|OPEN|HALF_OPEN)$/) });

    expect((await aos(t.keys.admin.key, "costsim", "reset")).code).toBe(2);
    const notAdmin = await aos(t.keys.operator.key, "costsim", "reset", "--reason", "checked by hand");
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.json.error.code).toBe("auth.forbidden");
    const reset = await aos(t.keys.admin.key, "costsim", "reset", "--reason", "checked by hand");
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.json).toMatchObject({ state: "CLOSED", v2_enabled: true });

    const incidents = await aos(t.keys.viewer.key, "costsim", "incidents", "--open", "--limit", "5");
    expect(incidents.code, incidents.stderr).toBe(0);
    expect(incidents.json).toMatchObject({ data: [] });
    expect((await aos(t.keys.viewer.key, "costsim", "incidents", "--limit", "0")).code).toBe(2);

    const run = await aos(t.keys.admin.key, "costsim", "canary-run");
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ trigger: "api", status: expect.stringMatching(/^(passed|insufficient_data)$/) });
    expect(run.json.report.datasets).toBeDefined();
    const list = await aos(t.keys.viewer.key, "costsim", "canary-reports", "--limit", "1");
    expect(list.json.data.map((r: { id: string }) => r.id)).toEqual([run.json.id]);
    const one = await aos(t.keys.viewer.key, "costsim", "canary-reports", run.json.id);
    expect(one.json).toMatchObject({ id: run.json.id, status: run.json.status });
    const unknown = await aos(t.keys.viewer.key, "costsim", "canary-reports", "00000000-0000-7000-8000-000000000000");
    expect(unknown.code).toBe(1);
    expect(unknown.json.error.code).toBe("costsim.canary_report_not_found");

    const report = await aos(t.keys.viewer.key, "costsim", "divergence", "--skill", "kv_store");
    expect(report.code, report.stderr).toBe(0);
    expect(report.json).toMatchObject({ skill: "kv_store", sample_count: 0, insufficient_data: true });
    const backwards = await aos(
      t.keys.viewer.key,
      "costsim",
      "divergence",
      "--since",
      "2026-12-02T00:00:00Z",
      "--until",
      "2026-12-01T00:00:00Z",
    );
    expect(backwards.code).toBe(1);
    expect(backwards.json.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["query.since"]);
  }, 120_000);
});
