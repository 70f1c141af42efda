/**
 * `aos failures generate` and `aos failures backfill` as a user runs them: the real `aos`
 * process (bin/aos.js) on this file's database and Redis. What they print is checked against
 * failure_matches itself.
 */

import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { config } from "../../core/config.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { settleBackground } from "../../core/platform/background.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { asKey, jobsTenant, spawnBody, type Who } from "../factories/jobs.ts";
import { makeTenant } from "../factories/tenancy.ts";
import { runAos } from "../setup/aos-cli.ts";
import { testDb } from "../setup/per-file.ts";

const env = inject("aos");
/** The owner's connection, straight to Postgres (the application role may not rewrite history). */
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: `${env.pgBase}/${testDb}` });
  await admin.connect();
});
afterAll(() => admin.end());

const rows = async (sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows;

describe("aos failures generate", { timeout: 120_000 }, () => {
  it("--count 60 --validate provokes 60 failures, prints the figures, and its records are the tenant's", async () => {
    const t = await makeTenant();
    const r = await runAos([
      "failures",
      "generate",
      "--tenant",
      t.slug,
      "--count",
      "60",
      "--validate",
      "--seed",
      "cli",
    ]);
    console.log(r.stdout);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/provoked 60 failures .*records in failure_matches: 60/);
    expect(r.stdout).toMatch(/precision \(top-1, confidence >= 0\.8\): \d+\.\d%/);
    expect(r.stdout).toMatch(/recall: \d+\.\d%/);
    expect(r.stdout).toMatch(/misses: \d+/);
    expect(r.stdout).toMatch(/cross-category matches: 0/);
    expect(r.stdout).toMatch(/^network\s+\d+/m);
    expect(r.stdout).toMatch(/PASS$/m);
    const precision = Number(/precision \(top-1[^:]*: ([\d.]+)%/.exec(r.stdout)?.[1]);
    expect(precision).toBeGreaterThanOrEqual(95);

    // The records themselves: 60, one per run, all the tenant's, the skills' and the generator's alike.
    const landed = await rows(
      `select count(*)::int as n, count(distinct run_id)::int as runs, count(skill_id)::int as skills,
         count(*) filter (where catalog_entry_id is not null)::int as matched,
         count(distinct category)::int as categories
       from failure_matches where tenant_id = $1 and run_id like 'generate:cli-%'`,
      [t.id],
    );
    expect(landed[0]).toMatchObject({ n: 60, runs: 60 });
    expect(landed[0].skills).toBeGreaterThan(20);
    expect(landed[0].categories).toBeGreaterThanOrEqual(8);
    // Nothing of it under another tenant.
    expect((await rows("select count(*)::int as n from failure_matches where tenant_id <> $1", [t.id]))[0].n).toBe(0);
  });

  it("refuses without --tenant (exit 2) and names a tenant that does not exist (exit 1)", async () => {
    const none = await runAos(["failures", "generate", "--count", "3"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--tenant is required/);
    const bad = await runAos(["failures", "generate", "--tenant", "no-such-tenant", "--count", "3"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no-such-tenant/);
    const count = await runAos(["failures", "generate", "--tenant", "x", "--count", "0"]);
    expect(count.code).toBe(2);
  });
});

/** A job of `n` external items, each failed for good with `errors[i]`. */
async function failedItems(w: Who, errors: Record<string, unknown>[]): Promise<{ jobId: string; itemIds: string[] }> {
  return asKey(w, async () => {
    const job = await Jobs.spawn(spawnBody({ n: errors.length, max_attempts: 1 }));
    const claimed = await Jobs.claim(job.id, { worker_id: "w1", max_items: errors.length });
    for (const [i, it] of claimed.items.entries())
      await Jobs.fail(it.id, { worker_id: "w1", error: errors[i] as Record<string, unknown>, retryable: false });
    return { jobId: job.id, itemIds: claimed.items.map((i) => i.id) };
  });
}

describe("aos failures backfill", { timeout: 120_000 }, () => {
  it("writes historical failed items and queue failures once; a second run adds nothing; live records are left alone", async () => {
    const w = await jobsTenant(10);
    const { jobId, itemIds } = await failedItems(w, [
      { code: "ECONNREFUSED", message: "connect ECONNREFUSED 10.0.0.7:443" },
      { message: "The database took too long to answer", code: "db.statement_timeout" },
      { message: "qqq zzz" },
    ]);
    // Their live records are written beside the failing call (recordInBackground), as a handler
    // kit would, finished here. The first two failed before the catalog recorded failures: theirs go.
    await settleBackground();
    await admin.query("delete from failure_matches where run_id = $1 and context_json->>'item_id' = any($2)", [
      jobId,
      itemIds.slice(0, 2),
    ]);
    const other = await makeTenant();
    await admin.query(
      `insert into queue_failures (queue, message_id, tenant_id, body, error_code, error_message, receive_count)
       values ('Jobs', $1, $2, '{}', 'validation.invalid_input', 'Invalid request: body.jobId', 1),
              ('Jobs', $3, null, 'not json', 'validation.invalid_input', 'Malformed JSON', 3)`,
      [`m-${randomUUID()}`, other.id, `m-${randomUUID()}`],
    );

    const dry = await runAos(["failures", "backfill", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/job_items\s+scanned 3, matched 2, missed 0, already there 1, would write 2/);
    expect(dry.stdout).toMatch(/queue_failures\s+scanned 2, matched 2, missed 0, already there 0, would write 2/);
    expect(dry.stdout).toMatch(/dry run: nothing written/);
    expect((await rows("select count(*)::int as n from failure_matches where context_json ? 'backfilled'"))[0].n).toBe(
      0,
    );

    const first = await runAos(["failures", "backfill", "--batch", "1"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/total: scanned 5, matched 4, missed 0, already there 1, written 4/);
    const written = await rows(
      `select run_id, tenant_id, error_code, catalog_entry_id, match_type, skill_id, context_json, created_at
       from failure_matches where context_json ? 'backfilled' order by run_id`,
    );
    expect(written).toHaveLength(4);
    const byItem = new Map(written.map((r) => [r.context_json.item_id ?? r.context_json.queue_failure_id, r]));
    expect(byItem.get(itemIds[0])).toMatchObject({
      run_id: jobId,
      tenant_id: w.tenantId,
      error_code: "ECONNREFUSED",
      catalog_entry_id: "upstream.connection_refused",
      skill_id: "external",
    });
    expect(byItem.get(itemIds[1])).toMatchObject({ catalog_entry_id: "capacity.db_timeout", match_type: "exact_code" });
    const queued = written.filter((r) => r.context_json.queue === "Jobs");
    expect(queued.map((r) => r.tenant_id).sort()).toEqual([other.id, SYSTEM_TENANT_ID].sort());
    expect(queued.every((r) => r.catalog_entry_id === "validation.invalid_input")).toBe(true);

    const again = await runAos(["failures", "backfill"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/total: scanned 5, matched 0, missed 0, already there 5, written 0/);
    expect((await rows("select count(*)::int as n from failure_matches where context_json ? 'backfilled'"))[0].n).toBe(
      4,
    );
  });

  it("--tenant and --since narrow what is scanned; a bad --since is refused (exit 2)", async () => {
    const w = await jobsTenant(10);
    await failedItems(w, [{ message: "connect ETIMEDOUT 10.0.0.9:443", code: "ETIMEDOUT" }]);
    const t = await runAos(["failures", "backfill", "--tenant", w.tenantId, "--dry-run"]);
    expect(t.code, t.stderr).toBe(0);
    // Its one item was recorded live when it failed: nothing to add.
    expect(t.stdout).toMatch(/job_items\s+scanned 1, matched 0, missed 0, already there 1, would write 0/);
    expect(t.stdout).toMatch(/queue_failures\s+scanned 0/);
    const future = await runAos(["failures", "backfill", "--since", "2999-01-01", "--dry-run"]);
    expect(future.stdout).toMatch(/total: scanned 0/);
    const bad = await runAos(["failures", "backfill", "--since", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since must be an ISO 8601 time/);
  });
});

describe("aos failures aggregate", { timeout: 120_000 }, () => {
  /** The child writes to this file's s3rver bucket. */
  const s3 = () => {
    const c = config().s3;
    return { S3_ENDPOINT: c.endpoint ?? "", S3_BUCKET: c.bucket ?? "" };
  };
  it("writes a day's per-tenant object to S3; a rerun rewrites the same bytes; a day that is not a date is refused", async () => {
    const t = await makeTenant();
    const day = "2026-02-10";
    await admin.query(
      `insert into failure_matches (id, run_id, tenant_id, error_code, error_message, catalog_entry_id, category, created_at)
       values ($1, 'r1', $3, 'skills.upstream_error', 'slack answered 429', 'upstream.rate_limited', 'rate_limit', '2026-02-10T08:00:00Z'),
              ($2, 'r2', $3, 'x.unknown', 'widget 42 jammed', null, null, '2026-02-10T09:00:00Z')`,
      [randomUUID(), randomUUID(), t.id],
    );
    const first = await runAos(["failures", "aggregate", "--day", day], s3());
    expect(first.code, first.stderr).toBe(0);
    const key = `failures/aggregates/day=${day}/tenant=${t.id}.jsonl.gz`;
    expect(first.stdout).toMatch(new RegExp(`${t.id}\\s+new\\s+failures 2, rows \\d+\\s+${key}`));
    expect(first.stdout).toContain(`${day}: 1 tenant(s) written`);
    const again = await runAos(["failures", "aggregate", "--day", day], s3());
    expect(again.stdout).toMatch(new RegExp(`${t.id}\\s+unchanged`));
    const { rows } = await admin.query(
      "select runs, failures from failure_aggregates where tenant_id = $1 and day = $2",
      [t.id, day],
    );
    expect(rows).toEqual([{ runs: 2, failures: 2 }]);
    const bad = await runAos(["failures", "aggregate", "--day", "2026-02-30"], s3());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("day must be a date YYYY-MM-DD");
  });
});
