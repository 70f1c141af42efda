/**
 * The daily failure aggregation on real Postgres and s3rver: failures recorded through the real
 * path (Failures.record) on a seeded UTC day for two tenants, one object per tenant and day whose
 * counts equal a recount in SQL, the top unmatched messages normalised, a rerun that rewrites the
 * same bytes, a recovery marked later that changes them, and the cron handler with `{day}`.
 */
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import * as Failures from "../../core/failures/index.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { getObject } from "../../core/platform/storage.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import { handler } from "../../functions/cron/failure-aggregation.ts";
import { lambdaContext } from "../events/index.ts";
import { makeTenant } from "../factories/tenancy.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

const DAY = "2026-03-14";
const at = (h: number, m = 0) => new Date(`${DAY}T${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:00Z`);

const asTenant = <T>(tenantId: string, fn: () => Promise<T>) =>
  withContext(
    { requestId: "r1", correlationId: "c1", actor: { type: "key", keyId: "k1", tenantId, role: "operator" } },
    fn,
  );

/** Record `error` for `tenantId` at `when` through the real recording path. */
async function recordAt(tenantId: string, when: Date, error: unknown, skillId = "slack_send") {
  const clock = new ManualClock(when.getTime());
  setClock(clock);
  try {
    const r = await asTenant(tenantId, () => Failures.record({ error, runId: `run-${when.getTime()}`, skillId }));
    expect(r.outcome).toBe("written");
    return r;
  } finally {
    setClock(systemClock);
  }
}

async function readLines(key: string): Promise<{ bytes: Buffer; lines: Record<string, unknown>[] }> {
  const o = await getObject(key);
  const chunks: Buffer[] = [];
  for await (const c of o.body) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const text = gunzipSync(bytes).toString("utf8");
  return {
    bytes,
    lines: text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** The recount: the day's counts per entry straight from failure_matches. */
async function recount(tenantId: string) {
  const { rows } = await query<{ entry: string | null; n: number; rec: number }>(
    `select catalog_entry_id as entry, count(*)::int as n, count(*) filter (where recovery_succeeded)::int as rec
     from failure_matches where tenant_id = $1 and created_at >= $2 and created_at < $3 group by 1`,
    [tenantId, at(0), new Date(at(0).getTime() + 86_400_000)],
  );
  return new Map(rows.map((r) => [r.entry, { n: r.n, rec: r.rec }]));
}

let a: string;
let b: string;
let recovered: string;

beforeAll(async () => {
  a = (await makeTenant()).id;
  b = (await makeTenant()).id;
  const s429 = () => new UpstreamError("slack", "slack answered 429", { retryable: true, status: 429 });
  // Tenant a: three 429s (one recovered later), two misses whose messages differ only by ids,
  // one miss of another shape, and failures just outside the day (not counted).
  recovered = (await recordAt(a, at(1), s429())).id;
  await recordAt(a, at(2), s429());
  await recordAt(a, at(23, 59), s429());
  await recordAt(a, at(3), new Error("frobnicator 4411 lost widget 7f3c2a9e-1b2c-4d5e-8f90-123456789abc"), "kv_store");
  await recordAt(a, at(4), new Error("frobnicator 98 lost widget 00000000-1b2c-4d5e-8f90-123456789abc"), "kv_store");
  await recordAt(a, at(5), new Error("zorblax quux overflow"), "kv_store");
  await recordAt(a, new Date(at(0).getTime() - 1000), s429());
  await recordAt(a, new Date(at(0).getTime() + 86_400_000), s429());
  // Tenant b: one miss only.
  await recordAt(b, at(12), new Error("b only: gizmo 5 jammed"), "kv_store");
  await asTenant(a, () => Failures.updateRecovery(recovered, { recovery_succeeded: true, notes: "fixed" }));
});

afterEach(() => setClock(systemClock));

describe("Failures.aggregateDay", () => {
  it("writes one object per tenant whose counts equal a recount, with the top unmatched messages normalised", async () => {
    const r = await Failures.aggregateDay(DAY);
    expect(r.failed).toEqual([]);
    expect(r.tenants.map((t) => t.tenant_id).sort()).toEqual([a, b].sort());
    const ta = r.tenants.find((t) => t.tenant_id === a) as Failures.AggregatedTenant;
    expect(ta.object_key).toBe(`failures/aggregates/day=${DAY}/tenant=${a}.jsonl.gz`);
    expect(ta.change).toBe("new");
    expect(ta.failures).toBe(6);

    const { bytes, lines } = await readLines(ta.object_key);
    expect(createHash("sha256").update(bytes).digest("hex"), "the recorded SHA-256 is the object's").toBe(ta.sha256);
    expect(lines.length).toBe(ta.rows);
    expect(
      lines.every((l) => l.tenant_id === a && l.day === DAY),
      "only tenant a's lines",
    ).toBe(true);

    const summary = lines.find((l) => l.type === "summary") as Record<string, number>;
    expect(summary).toMatchObject({ failures: 6, hits: 3, misses: 3, recovered: 1, unrecovered: 5 });
    const counted = await recount(a);
    const entries = lines.filter((l) => l.type === "entry");
    expect(entries.reduce((n, e) => n + (e.failures as number), 0)).toBe(6);
    for (const e of entries) {
      const want = counted.get(e.catalog_entry_id as string | null);
      expect(e.failures, `entry ${e.catalog_entry_id}`).toBe(want?.n);
      expect(e.recovered, `entry ${e.catalog_entry_id}`).toBe(want?.rec);
      expect(e.unrecovered).toBe((want?.n ?? 0) - (want?.rec ?? 0));
    }
    expect(entries.length).toBe(counted.size);
    const categories = lines.filter((l) => l.type === "category");
    expect(categories.reduce((n, c) => n + (c.failures as number), 0)).toBe(6);

    const unmatched = lines.filter((l) => l.type === "unmatched");
    expect(unmatched[0]).toMatchObject({ rank: 1, failures: 2, message: "frobnicator <n> lost widget <uuid>" });
    expect(unmatched[1]).toMatchObject({ rank: 2, failures: 1, message: "zorblax quux overflow" });
    expect(JSON.stringify(lines)).not.toContain("gizmo");

    const { rows } = await query<{ sha256: string; rows: number; failures: number; runs: number }>(
      "select sha256, rows, failures, runs from failure_aggregates where tenant_id = $1 and day = $2",
      [a, DAY],
    );
    expect(rows).toEqual([{ sha256: ta.sha256, rows: ta.rows, failures: 6, runs: 1 }]);

    const tb = r.tenants.find((t) => t.tenant_id === b) as Failures.AggregatedTenant;
    const bLines = (await readLines(tb.object_key)).lines;
    expect(bLines.every((l) => l.tenant_id === b)).toBe(true);
    expect(bLines.find((l) => l.type === "summary")).toMatchObject({ failures: 1, misses: 1 });
  });

  it("is idempotent: a rerun rewrites the same key with the same bytes; a recovery marked since changes them", async () => {
    const first = await Failures.aggregateDay(DAY);
    const again = await Failures.aggregateDay(DAY);
    const ta1 = first.tenants.find((t) => t.tenant_id === a) as Failures.AggregatedTenant;
    const ta2 = again.tenants.find((t) => t.tenant_id === a) as Failures.AggregatedTenant;
    expect(ta2.change).toBe("unchanged");
    expect(ta2.sha256).toBe(ta1.sha256);
    expect(ta2.object_key).toBe(ta1.object_key);
    const { rows } = await query<{ n: number; runs: number }>(
      "select count(*)::int as n, max(runs)::int as runs from failure_aggregates where tenant_id = $1 and day = $2",
      [a, DAY],
    );
    expect(rows[0]?.n, "still one row per tenant and day").toBe(1);
    expect(rows[0]?.runs).toBeGreaterThanOrEqual(3);

    const { rows: open } = await query<{ id: string }>(
      `select id from failure_matches where tenant_id = $1 and created_at >= $2 and created_at < $3
         and recovery_succeeded is not true order by created_at limit 1`,
      [a, at(0), at(23, 59)],
    );
    await asTenant(a, () => Failures.updateRecovery((open[0] as { id: string }).id, { recovery_succeeded: true }));
    const third = await Failures.aggregateDay(DAY);
    const ta3 = third.tenants.find((t) => t.tenant_id === a) as Failures.AggregatedTenant;
    expect(ta3.change).toBe("changed");
    expect(ta3.sha256).not.toBe(ta1.sha256);
    const summary = (await readLines(ta3.object_key)).lines.find((l) => l.type === "summary");
    expect(summary).toMatchObject({ recovered: 2, unrecovered: 4 });
  });

  it("a day without failures writes nothing; a day that is not a date is refused", async () => {
    const r = await Failures.aggregateDay("2026-03-01");
    expect(r.tenants).toEqual([]);
    for (const bad of ["2026-02-30", "14/03/2026", "2026-3-14", ""]) {
      const e = await Failures.aggregateDay(bad).catch((x: unknown) => x);
      expect(e, bad).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("validation.invalid_input");
    }
  });

  it("the cron defaults to yesterday by the clock, takes {day} from an operator, and meters its runs", async () => {
    const okBefore = await metricValue('aos_failure_aggregation_runs_total{outcome="ok"}');
    setClock(new ManualClock(Date.parse("2026-03-15T00:41:00Z")));
    const r = (await handler({}, lambdaContext())) as { day: string; tenants: number };
    expect(r).toMatchObject({ day: DAY, tenants: 2 });
    setClock(systemClock);
    expect(await handler({ day: DAY }, lambdaContext())).toMatchObject({ day: DAY, tenants: 2 });
    await expect(handler({ day: "yesterday" }, lambdaContext())).rejects.toMatchObject({
      code: "validation.invalid_input",
    });
    expect(await metricValue('aos_failure_aggregation_runs_total{outcome="ok"}')).toBe(okBefore + 2);
    expect(await metricValue("aos_failure_aggregation_last_success_timestamp_seconds")).toBeGreaterThan(0);
  });
});
