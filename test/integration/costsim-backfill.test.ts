/**
 * `aos costsim backfill` as an operator runs it: the real `aos` process (bin/aos.js) on this
 * file's database, its figures checked against costsim_provenance itself. Fixtures:
 * test/fixtures/costsim-backfill/ (good.jsonl: AOS's spelling, flat figures, the Python
 * system's spelling, a V2 error, a plan without a hash, a repeated hash; bad.jsonl: good and bad
 * lines mixed; mixed/: .json array, .jsonl and a single-object .json, plus a file to ignore).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { progress } from "../../cli/commands/costsim.ts";
import * as Costsim from "../../core/costsim/index.ts";
import { makeTenant } from "../factories/tenancy.ts";
import { runAos } from "../setup/aos-cli.ts";
import { testDb } from "../setup/per-file.ts";

const env = inject("aos");
const fixtures = "test/fixtures/costsim-backfill";
/** The owner's connection, straight to Postgres (to read every tenant's rows and to tamper with one). */
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: `${env.pgBase}/${testDb}` });
  await admin.connect();
});
afterAll(() => admin.end());

const rows = async (tenantId: string) =>
  (
    await admin.query(
      `select input_hash, source, plan_ref, skills, v1_version, v2_version, v1_hash, v2_hash,
         CAST(v1_credits AS float8) as v1_credits, CAST(v2_credits AS float8) as v2_credits,
         v1_duration_ms, v2_duration_ms, CAST(cost_delta AS float8) as cost_delta, drift_score, verdict, outputs,
         CAST(actual_credits AS float8) as actual_credits, actual_duration_ms, created_at
       from costsim_provenance where tenant_id = $1 order by input_hash`,
      [tenantId],
    )
  ).rows;

// The fixtures carry fixed dates (November 2026): a retention of a century keeps them loadable
// whenever the tests run. The default's skip has its own test.
const CENTURY = { COSTSIM_PROVENANCE_RETENTION_DAYS: "36500" };
const backfill = (tenant: string, ...args: string[]) =>
  runAos(["costsim", "backfill", "--tenant", tenant, ...args], CENTURY);

describe("aos costsim backfill", { timeout: 120_000 }, () => {
  it("loads a good file: every spelling mapped to its row, hashes recomputable, a repeated hash counted once", async () => {
    const t = await makeTenant();
    const r = await backfill(t.slug, "--file", `${fixtures}/good.jsonl`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/files 1, read 6, loaded 5, duplicates 1 \(in the input 1, already stored 0\), bad 0/);
    // Not a terminal: plain progress lines on stderr, not a bar.
    expect(r.stderr).toMatch(/progress: 100% of the input, 6 records read/);
    expect(r.stderr).not.toContain("\r");

    const got = await rows(t.id);
    expect(got.map((x) => x.input_hash)).toHaveLength(5);
    const by = new Map(got.map((x) => [x.input_hash, x]));
    expect(got.every((x) => x.source === "backfill")).toBe(true);

    // AOS's spelling, whole replies: the first occurrence wins over the repeat on line 6.
    const full = by.get("in-0001-aaaaaaaa");
    expect(full).toMatchObject({
      plan_ref: "workflow:digest@1",
      skills: ["http_get", "llm_summarize"],
      v1_credits: 12.5,
      v2_credits: 12,
      cost_delta: -0.5,
      verdict: "match",
      actual_credits: 11.8,
      actual_duration_ms: 4010,
    });
    expect(full?.created_at.toISOString()).toBe("2026-11-02T10:00:00.000Z");
    expect(full?.v1_hash).toBe(Costsim.hashOf(full?.outputs.v1));
    expect(full?.v2_hash).toBe(Costsim.hashOf(full?.outputs.v2));
    expect(full?.outputs.v2.confidence).toBe(0.81);

    // Flat figures with their recorded verdict; the Python spelling (plan_hash, v1_cost, model_version).
    expect(by.get("in-0002-bbbbbbbb")).toMatchObject({ verdict: "major_drift", v2_credits: 5, cost_delta: 2 });
    expect(by.get("in-0003-cccccccc")).toMatchObject({
      v1_credits: 7.25,
      v2_credits: 7.5,
      v2_version: "v2-py-0.9",
      verdict: "match",
    });
    expect(by.get("in-0003-cccccccc")?.created_at.toISOString()).toBe("2026-11-04T09:30:00.000Z");
    // A V2 error: no V2 side, its error kept.
    expect(by.get("in-0004-dddddddd")).toMatchObject({ verdict: "v2_error", v2_hash: null, v2_credits: null });
    expect(by.get("in-0004-dddddddd")?.outputs.v2_error.code).toBe("costsim.v2_schema");
    // A plan without a hash: hashed as the shadow path hashes its input; the verdict computed (0.2525 > 0.2).
    const plan = { kind: "job", name: "voyage_embed", steps: [{ id: "items", skill: "external" }] };
    const planned = by.get(Costsim.hashOf({ plan, options: {} }));
    expect(planned).toMatchObject({ plan_ref: "inline", skills: ["external"], verdict: "major_drift" });
    expect(planned?.drift_score).toBeCloseTo(0.2525, 4);
  });

  it("de-duplicates against what is stored: a second run loads nothing; another tenant's load is its own", async () => {
    const [t, other] = [await makeTenant(), await makeTenant()];
    expect((await backfill(t.slug, "--file", `${fixtures}/good.jsonl`)).code).toBe(0);
    const before = await rows(t.id);

    const again = await backfill(t.slug, "--file", `${fixtures}/good.jsonl`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/read 6, loaded 0, duplicates 6 \(in the input 1, already stored 5\), bad 0/);
    expect(await rows(t.id)).toEqual(before);

    // The same input hashes under another tenant are not duplicates of the first tenant's.
    const theirs = await backfill(other.slug, "--file", `${fixtures}/good.jsonl`);
    expect(theirs.stdout).toMatch(/loaded 5, duplicates 1 \(in the input 1, already stored 0\)/);
    expect(await rows(other.id)).toHaveLength(5);
    expect(await rows(t.id)).toEqual(before);
  });

  it("reports each bad line with its file:line and why, and still loads the good ones", async () => {
    const t = await makeTenant();
    // One batch of the three valid records; Postgres refuses one (jsonb holds no \u0000): the batch is written again row by row.
    const r = await backfill(t.slug, "--file", `${fixtures}/bad.jsonl`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const f = `${fixtures}/bad.jsonl`;
    expect(r.stdout).toContain(`bad ${f}:2: not JSON`);
    expect(r.stdout).toContain(`bad ${f}:4: v1_credits: must be at least 0`);
    expect(r.stdout).toContain(`bad ${f}:5: v2: V2's reply (or v2_credits and v2_duration_ms) or v2_error is required`);
    expect(r.stdout).toContain(`bad ${f}:6: v1_hash: deadbeefdeadbeef is not the hash of v1`);
    expect(r.stdout).toContain(`bad ${f}:8: input_hash:`);
    expect(r.stdout).toContain(`bad ${f}:9: not a JSON object`);
    expect(r.stdout).toMatch(new RegExp(`bad ${f}:10: verdict: `));
    expect(r.stdout).toContain(`bad ${f}:11: refused by the database: unsupported Unicode escape sequence`);
    expect(r.stdout).not.toMatch(/bad .*:(1|3|7):/);
    expect(r.stdout).toMatch(/read 10, loaded 2, duplicates 0 \(in the input 0, already stored 0\), bad 8/);
    expect((await rows(t.id)).map((x) => x.input_hash)).toEqual(["bad-0001-good0001", "bad-0007-good0007"]);
  });

  it("--dry-run validates and counts, duplicates against the stored rows included, and writes nothing", async () => {
    const t = await makeTenant();
    const dry = await backfill(t.slug, "--file", `${fixtures}/good.jsonl`, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: files 1, read 6, would load 5, duplicates 1 .*bad 0 \(nothing written\)/);
    expect(await rows(t.id)).toHaveLength(0);

    await backfill(t.slug, "--file", `${fixtures}/mixed/02-lines.jsonl`);
    const stored = await rows(t.id);
    const dryMixed = await backfill(t.slug, "--dir", `${fixtures}/mixed`, "--dry-run");
    expect(dryMixed.stdout).toMatch(/would load 2, duplicates 4 \(in the input 1, already stored 3\), bad 1/);
    expect(await rows(t.id)).toEqual(stored);
  });

  it("--dir reads every .json and .jsonl by name (arrays reported at their element's line) and skips other files", async () => {
    const t = await makeTenant();
    const r = await backfill(t.slug, "--dir", `${fixtures}/mixed`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`bad ${fixtures}/mixed/01-array.json:9: v1_duration_ms: `));
    expect(r.stdout).toMatch(/files 3, read 7, loaded 5, duplicates 1 \(in the input 1, already stored 0\), bad 1/);
    expect((await rows(t.id)).map((x) => x.input_hash)).toEqual([
      "mix-0001-aaaaaaaa",
      "mix-0003-cccccccc",
      "mix-0004-dddddddd",
      "mix-0005-eeeeeeee",
      "mix-0006-ffffffff",
    ]);
  });

  it("--verify passes on what was loaded and catches a tampered row (exit 1), alone or after a load", async () => {
    const t = await makeTenant();
    const load = await backfill(t.slug, "--file", `${fixtures}/good.jsonl`, "--verify");
    expect(load.code, load.stdout + load.stderr).toBe(0);
    expect(load.stdout).toMatch(/verify: 5 stored rows checked, 0 mismatches: PASS/);

    await admin.query(
      `update costsim_provenance set outputs = jsonb_set(outputs, '{v2,credits}', '11')
       where tenant_id = $1 and input_hash = 'in-0001-aaaaaaaa'`,
      [t.id],
    );
    const alone = await backfill(t.slug, "--verify");
    expect(alone.code).toBe(1);
    expect(alone.stdout).toMatch(
      /MISMATCH in-0001-aaaaaaaa \(backfill\): v2_hash [0-9a-f]{64} but outputs.v2 hashes to/,
    );
    expect(alone.stdout).toMatch(/v2_credits 12 but outputs.v2.credits is 11/);
    expect(alone.stdout).toMatch(/verify: 5 stored rows checked, 2 mismatches: FAIL/);
    // After a load too (the rows of the input, duplicates included).
    const after = await backfill(t.slug, "--file", `${fixtures}/good.jsonl`, "--verify");
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/loaded 0, duplicates 6/);
    expect(after.stdout).toMatch(/verify: 5 stored rows checked, 2 mismatches: FAIL/);
  });

  it("with COSTSIM_PROVENANCE_COMPRESS keeps the outputs gzipped, as the shadow path does, and --verify reads them", async () => {
    const t = await makeTenant();
    const r = await runAos(
      ["costsim", "backfill", "--tenant", t.slug, "--file", `${fixtures}/good.jsonl`, "--verify"],
      { COSTSIM_PROVENANCE_COMPRESS: "true" },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verify: 5 stored rows checked, 0 mismatches: PASS/);
    const stored = (
      await admin.query(
        "select outputs, outputs_gz, v1_hash from costsim_provenance where tenant_id = $1 and input_hash = 'in-0001-aaaaaaaa'",
        [t.id],
      )
    ).rows[0];
    expect(stored.outputs).toBeNull();
    const outputs = JSON.parse(gunzipSync(stored.outputs_gz).toString("utf8"));
    expect(Costsim.hashOf(outputs.v1)).toBe(stored.v1_hash);
  });

  it("skips records created before COSTSIM_PROVENANCE_RETENTION_DAYS (90) ago, which retention would delete, and says so", async () => {
    const t = await makeTenant();
    const dir = mkdtempSync(join(tmpdir(), "aos-backfill-"));
    const line = (hash: string, daysAgo: number) =>
      JSON.stringify({
        input_hash: hash,
        v1_credits: 2,
        v1_duration_ms: 90,
        v2_credits: 2,
        v2_duration_ms: 80,
        created_at: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
      });
    writeFileSync(
      join(dir, "old.jsonl"),
      [line("old-0001", 91), line("new-0002", 89), line("old-0003", 400)].join("\n"),
    );
    const r = await runAos(["costsim", "backfill", "--tenant", t.slug, "--dir", dir]);
    expect(r.stdout, r.stderr).toMatch(/read 3, loaded 1, duplicates 0 .* bad 0/);
    expect(r.stdout).toMatch(
      /skipped 2 records created before \S+ \(COSTSIM_PROVENANCE_RETENTION_DAYS\): the CostsimSafety schedule would delete them/,
    );
    expect(r.code).toBe(0);
    expect((await rows(t.id)).map((x) => x.input_hash)).toEqual(["new-0002"]);
    // With a longer retention they load.
    const longer = await runAos(["costsim", "backfill", "--tenant", t.slug, "--dir", dir], {
      COSTSIM_PROVENANCE_RETENTION_DAYS: "500",
    });
    expect(longer.stdout).toMatch(/read 3, loaded 2, duplicates 1 \(in the input 0, already stored 1\)/);
    expect(longer.stdout).not.toMatch(/skipped/);
    rmSync(dir, { recursive: true });
  });

  it("takes flat actuals, and the Python run_id as the actual run only when it is a UUID", async () => {
    const t = await makeTenant();
    const dir = mkdtempSync(join(tmpdir(), "aos-backfill-"));
    const run = "0193a3c4-1111-7aaa-8bbb-123456789abc";
    const line = (hash: string, runId: string) =>
      JSON.stringify({
        plan_hash: hash,
        v1_cost: 2,
        v1_duration_ms: 90,
        v2_cost: 2,
        v2_duration_ms: 80,
        actual_credits: 2.5,
        actual_duration_ms: 100,
        run_id: runId,
      });
    writeFileSync(join(dir, "py.jsonl"), `${line("py-0001-aaaaaaaa", run)}\n${line("py-0002-bbbbbbbb", "run_42")}\n`);
    const r = await backfill(t.slug, "--dir", dir);
    expect(r.stdout, r.stderr).toMatch(/read 2, loaded 2, .* bad 0/);
    const got = (
      await admin.query(
        `select input_hash, CAST(actual_credits AS float8) as c, actual_duration_ms as d, actual_run_id as run
         from costsim_provenance where tenant_id = $1 order by input_hash`,
        [t.id],
      )
    ).rows;
    expect(got).toEqual([
      { input_hash: "py-0001-aaaaaaaa", c: 2.5, d: 100, run },
      { input_hash: "py-0002-bbbbbbbb", c: 2.5, d: 100, run: null },
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws a bar redrawn in place on a terminal, and plain lines at each tenth otherwise", () => {
    const out = (isTTY: boolean) => {
      const text: string[] = [];
      const p = progress({ isTTY, write: (s: string) => text.push(s) > 0 } as never);
      for (let b = 0; b <= 1000; b += 50) p.update({ bytes: b, total: 1000, records: b / 10 });
      p.end();
      return text.join("");
    };
    const tty = out(true);
    expect(tty).toMatch(/^\r\[\.{30}\] {3}0% {2}0 records/);
    expect(tty).toMatch(/\r\[#{30}\] 100% {2}100 records\n$/);
    const plain = out(false);
    expect(plain).not.toContain("\r");
    expect(plain.trim().split("\n")).toEqual(
      Array.from({ length: 11 }, (_, i) => `progress: ${i * 10}% of the input, ${i * 10} records read`),
    );
  });

  it("exits non-zero when nothing could be read, and refuses wrong usage", async () => {
    const t = await makeTenant();
    const none = await backfill(t.slug, "--file", `${fixtures}/mixed/README.txt`);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/nothing could be read/);
    expect((await backfill(t.slug, "--file", `${fixtures}/nope.jsonl`)).code).toBe(1);
    expect((await runAos(["costsim", "backfill", "--file", `${fixtures}/good.jsonl`])).code).toBe(2);
    expect((await backfill(t.slug)).code).toBe(2);
    expect((await backfill(t.slug, "--file", "a", "--dir", "b")).code).toBe(2);
    const unknown = await backfill("no-such-tenant", "--file", `${fixtures}/good.jsonl`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no-such-tenant/);
  });
});
