/**
 * `aos export status-history` end to end, as a user runs it: the real `aos` process (bin/aos.js)
 * talks over HTTP to the real route handlers, served in-process by the local runtime's HTTP
 * server, while the local runtime's SQS poller feeds the export queue's real handler; the file
 * comes from s3rver through the presigned URL. Nothing is mocked.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { putObject } from "../../core/platform/storage.ts";
import { change, insertHistoryAt, recordHistory } from "../factories/status-history.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { type AosRun, runAos } from "../setup/aos-cli.ts";
import { type LocalApi, startLocalApi } from "../setup/local-api.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let api: LocalApi;
let baseUrl: string;
let requests = 0;
let since: string;
const dir = mkdtempSync(join(tmpdir(), "aos-cli-export-"));

/** Values a CSV or JSON writer can get wrong; `=`, `+`, `-`, `@` start formulas in spreadsheets. */
const tricky = [
  change({ entity_id: "a,b", reason: 'say "hi", then, leave' }),
  change({ entity_id: "multi", old_status: null, reason: "line one\nline two\r\nline three" }),
  change({ entity_id: "emoji-🚀", new_status: "✅ done", reason: "ünïcödé 🎉", metadata: { note: "🙂" } }),
  change({ entity_id: "=1+2", new_status: "=SUM(A1:A9)", reason: '=HYPERLINK("http://x","y")', actor: "@admin" }),
  change({ entity_id: "-1", new_status: "+up", reason: null }),
];

beforeAll(async () => {
  t = await makeTenantWithKeys();
  const other = await makeTenantWithKeys();
  await recordHistory(t.tenant.id, [change({ reason: "before since" }), change({ entity_type: "item" })]);
  // Earlier rows whose created_at has trailing zeros in its fraction, and none at all.
  await insertHistoryAt(t.tenant.id, [
    { ...change(), created_at: "2026-01-02T03:04:05.120000Z" },
    { ...change(), created_at: "2026-01-02T03:04:06Z" },
  ]);
  await recordHistory(other.tenant.id, [change({ reason: "another tenant's" })]);
  // Rows recorded in one statement share created_at (the transaction's now()): a gap either side.
  await sleep(50);
  since = new Date().toISOString();
  await sleep(50);
  await recordHistory(t.tenant.id, tricky);
  await recordHistory(t.tenant.id, [change({ entity_type: "item", reason: "not a job" })]);

  api = await startLocalApi({ pollers: ["StatusHistoryExports"] });
  api.server.server.on("request", () => requests++);
  baseUrl = api.url;
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Run `aos export status-history ...args` with AOS_URL at the in-process server. */
function aosExport(args: string[], key = t.keys.operator.key): Promise<AosRun> {
  return runAos(["export", "status-history", ...args], { AOS_URL: baseUrl, AOS_KEY: key });
}

/**
 * The tenant's job rows (at or after `from`), oldest first, created_at as exports write it
 * (core/status-history/exports.sql.ts): RFC 3339 in UTC, the fraction without trailing zeros.
 */
async function jobRows(from?: string) {
  const { rows } = await query<any>(
    `select id, tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata, correlation_id,
       rtrim(rtrim(to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '0'), '.') || 'Z' as created_at
     from status_history where tenant_id = $1 and entity_type = 'job' and created_at >= coalesce($2::timestamptz, '-infinity')
     order by created_at, id`,
    [t.tenant.id, from ?? null],
  );
  return rows;
}

/** OWASP's CSV-injection advice, as the export applies it: a leading quote before = + - @ tab CR. */
const neutral = (v: string | null) => (v === null ? "" : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
const exportIdOf = (stdout: string) => /\(export ([0-9a-f-]{36})\)/.exec(stdout)?.[1] as string;
const leftovers = (prefix: string) => readdirSync(dir).filter((f) => f.startsWith(prefix));

// Each case starts `aos` (tsx) a few times and waits for exports: more than the default 30 s on a busy machine.
describe("aos export status-history", { timeout: 90_000 }, () => {
  it("csv: the file holds exactly the filtered rows of the table, RFC 4180 quoting, formulas neutralised", async () => {
    const out = join(dir, "jobs.csv");
    const r = await aosExport(["--format", "csv", "--entity-type", "job", "--since", since, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    // Not a terminal: no progress, one summary line.
    expect(r.stderr).toBe("");
    const want = await jobRows(since);
    expect(want.length).toBe(tricky.length);
    expect(r.stdout.trim()).toMatch(
      new RegExp(`^${out}: ${want.length} rows, \\d+ bytes, sha256 [0-9a-f]{64} \\(export `),
    );
    expect(leftovers("jobs.csv")).toEqual(["jobs.csv"]);

    const records = parseCsv(readFileSync(out), { columns: true }) as Record<string, string>[];
    expect(records.length).toBe(want.length);
    records.forEach((got, i) => {
      const w = want[i];
      expect({ ...got, metadata: JSON.parse(got.metadata as string) }).toEqual({
        id: String(w.id),
        tenant_id: w.tenant_id,
        entity_type: neutral(w.entity_type),
        entity_id: neutral(w.entity_id),
        old_status: neutral(w.old_status),
        new_status: neutral(w.new_status),
        actor: neutral(w.actor),
        reason: neutral(w.reason),
        metadata: w.metadata,
        correlation_id: neutral(w.correlation_id),
        created_at: w.created_at,
      });
    });
    expect(records.map((x) => x.entity_id)).toContain("'=1+2");
  });

  it("jsonl --gzip: the gunzipped file is one JSON object per table row, oldest first", async () => {
    const out = join(dir, "jobs.jsonl.gz");
    const r = await aosExport(["--format", "jsonl", "--gzip", "--entity-type", "job", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(out);
    expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const text = gunzipSync(bytes).toString("utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text
      .slice(0, -1)
      .split("\n")
      .map((l) => JSON.parse(l));
    const want = await jobRows();
    expect(want.length).toBe(tricky.length + 3);
    expect(want.slice(0, 2).map((w) => w.created_at)).toEqual(["2026-01-02T03:04:05.12Z", "2026-01-02T03:04:06Z"]);
    expect(lines).toEqual(want);
    expect(r.stdout).toContain(`${want.length} rows`);
  });

  it("bad flag values exit 2 naming the flags, before any request", async () => {
    const before = requests;
    const help = await aosExport(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("aos export status-history --format csv|jsonl --out FILE");
    const r = await aosExport([
      "--format",
      "xml",
      "--since",
      "yesterday",
      "--entity-type",
      "Bad Type",
      "--out",
      join(dir, "x"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--format: must be csv or jsonl");
    expect(r.stderr).toContain("--since:");
    expect(r.stderr).toContain("--entity-type:");
    const noOut = await aosExport(["--format", "csv"]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("--out");
    const order = await aosExport([
      "--format",
      "csv",
      "--since",
      "2026-02-01T00:00:00Z",
      "--until",
      "2026-01-01T00:00:00Z",
      "--out",
      join(dir, "x"),
    ]);
    expect(order.code).toBe(2);
    expect(order.stderr).toContain("since must be before until");
    expect((await aosExport(["--format", "csv", "--bogus", "--out", join(dir, "x")])).code).toBe(2);
    expect(requests).toBe(before);
    expect(leftovers("x")).toEqual([]);
  });

  it("an export whose object was changed after it became ready: exit 1, no file and no partial left", async () => {
    const first = await aosExport(["--format", "csv", "--out", join(dir, "orig.csv")]);
    expect(first.code, first.stderr).toBe(0);
    const id = exportIdOf(first.stdout);
    // --export-id downloads the same export again: the check passes while the object is intact.
    const again = await aosExport(["--export-id", id, "--out", join(dir, "again.csv")]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(dir, "again.csv"))).toEqual(readFileSync(join(dir, "orig.csv")));

    const { rows } = await query<{ object_key: string }>(
      "select object_key from status_history_exports where id = $1",
      [id],
    );
    const original = readFileSync(join(dir, "orig.csv"), "utf8");
    await putObject(rows[0]?.object_key as string, original.replace("job", "jab"), { contentType: "text/csv" });
    const r = await aosExport(["--export-id", id, "--out", join(dir, "tampered.csv")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`download of export ${id} does not match it`);
    expect(leftovers("tampered")).toEqual([]);
  });

  it("API refusals exit 1 with the API's code, message and fields", async () => {
    const unknown = await aosExport(["--format", "csv", "--out", join(dir, "u.csv")], `aos_${"x".repeat(32)}`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/auth\.invalid_key: /);
    const viewer = await aosExport(["--format", "csv", "--out", join(dir, "v.csv")], t.keys.viewer.key);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/auth\.forbidden: /);
    // Passes the shared schema, refused by the API: `until` defaults to now, so `since` is after it.
    const future = await aosExport(["--format", "csv", "--since", "2999-01-01T00:00:00Z", "--out", join(dir, "f.csv")]);
    expect(future.code).toBe(1);
    expect(future.stderr).toContain("validation.invalid_input: ");
    expect(future.stderr).toContain("  body.filters.since: since must be before until");
    expect(leftovers("u.csv").length + leftovers("v.csv").length + leftovers("f.csv").length).toBe(0);
  });
});
