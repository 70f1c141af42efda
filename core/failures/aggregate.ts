/**
 * The daily failure aggregation (issue 15 §7, seed 003's "aggregation job made durable in S3"):
 * for one UTC day, per tenant with failures that day, a JSONL object (gzip) in S3 with the day's
 * counts per catalog entry (hits, misses, recovered, unrecovered), per category and severity, and
 * the most frequent unmatched messages (normalised: ids, numbers, urls stripped), and a row in
 * failure_aggregates saying what was written (key, SHA-256, rows, bytes).
 *
 * Key: `failures/aggregates/day=YYYY-MM-DD/tenant=<tenant id>.jsonl.gz`, one object per tenant,
 * so a tenant's object never holds another's counts.
 *
 * Idempotent per day: a rerun recounts and overwrites the same key. The object holds no time of
 * its own and its lines come in a fixed order, so the same records give the same bytes and the
 * same SHA-256 (`unchanged`); records that changed since (a recovery marked later, a failure that
 * came through the FailureRecords queue late) give a new object (`changed`), which is why a rerun
 * recounts rather than skipping a day already written.
 */
import { config } from "../config.ts";
import { ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { writeJsonl } from "../platform/storage.ts";
import * as sql from "./aggregate.sql.ts";
import { AggregationFailedError } from "./errors.ts";
import { failureMetrics as m } from "./metrics.ts";
import { normaliseMessage } from "./signal.ts";

/** Distinct raw messages read per tenant and day before normalising; beyond it the counts are a floor. */
const RAW_MESSAGES_MAX = 10_000;

export const aggregateKeyOf = (day: string, tenantId: string) =>
  `failures/aggregates/day=${day}/tenant=${tenantId}.jsonl.gz`;

interface Counts {
  failures: number;
  hits: number;
  misses: number;
  recovery_attempted: number;
  recovered: number;
  unrecovered: number;
}

interface EntryRow extends Counts {
  catalog_entry_id: string | null;
  category: string | null;
  severity: string | null;
}

export interface AggregatedTenant {
  tenant_id: string;
  object_key: string;
  sha256: string;
  rows: number;
  failures: number;
  bytes: number;
  /** new: first write of the day; changed / unchanged: against the previous run's SHA-256. */
  change: "new" | "changed" | "unchanged";
}

export interface AggregationResult {
  day: string;
  tenants: AggregatedTenant[];
  /** Tenants whose object or row could not be written (the run then fails, after the others). */
  failed: { tenant_id: string; error: string }[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` as its UTC bounds; a ValidationError for anything else (2026-02-30 included). */
export function dayBounds(day: string): { start: Date; end: Date } {
  const start = new Date(`${day}T00:00:00.000Z`);
  if (!DAY.test(day) || Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== day)
    throw new ValidationError(`day must be a date YYYY-MM-DD, got ${JSON.stringify(day)}`, [
      { field: "day", message: "a UTC date YYYY-MM-DD" },
    ]);
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

/** The UTC day before the clock's now, `YYYY-MM-DD`. */
export const yesterday = (): string => new Date(clock().nowMs() - 86_400_000).toISOString().slice(0, 10);

const zero = (): Counts => ({ failures: 0, hits: 0, misses: 0, recovery_attempted: 0, recovered: 0, unrecovered: 0 });

function add(to: Counts, c: Counts): void {
  to.failures += c.failures;
  to.hits += c.hits;
  to.misses += c.misses;
  to.recovery_attempted += c.recovery_attempted;
  to.recovered += c.recovered;
  to.unrecovered += c.unrecovered;
}

const countsOf = (c: Counts): Counts => ({
  failures: c.failures,
  hits: c.hits,
  misses: c.misses,
  recovery_attempted: c.recovery_attempted,
  recovered: c.recovered,
  unrecovered: c.unrecovered,
});

/** Sum `rows` by `key` (null last), keys in order. */
function rollUp(rows: readonly EntryRow[], key: "category" | "severity") {
  const by = new Map<string | null, Counts>();
  for (const r of rows) {
    const k = r[key];
    if (!by.has(k)) by.set(k, zero());
    add(by.get(k) as Counts, r);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1))
    .map(([k, c]) => ({ [key]: k, ...countsOf(c) }));
}

/** The day's unmatched messages grouped by their normalised text, most frequent first. */
async function topUnmatched(tenantId: string, start: Date, end: Date) {
  const { rows } = await query<{ error_code: string; error_message: string; n: number }>(sql.unmatchedMessages, [
    tenantId,
    start,
    end,
    RAW_MESSAGES_MAX,
  ]);
  const by = new Map<string, { failures: number; codes: Set<string> }>();
  for (const r of rows) {
    const text = normaliseMessage(r.error_message);
    const g = by.get(text) ?? { failures: 0, codes: new Set<string>() };
    g.failures += r.n;
    g.codes.add(r.error_code);
    by.set(text, g);
  }
  const top = [...by.entries()]
    .sort(([ma, a], [mb, b]) => b.failures - a.failures || (ma < mb ? -1 : ma > mb ? 1 : 0))
    .slice(0, config().failures.aggregationTopUnmatched)
    .map(([message, g], i) => ({ rank: i + 1, message, failures: g.failures, error_codes: [...g.codes].sort() }));
  return { top, truncated: rows.length >= RAW_MESSAGES_MAX };
}

/** The object's lines for one tenant and day, in their fixed order. */
async function linesOf(day: string, tenantId: string, start: Date, end: Date) {
  const { rows: entries } = await query<EntryRow>(sql.entryCounts, [tenantId, start, end]);
  const total = zero();
  for (const e of entries) add(total, e);
  const unmatched = await topUnmatched(tenantId, start, end);
  const at = { day, tenant_id: tenantId };
  const lines: unknown[] = [
    {
      type: "summary",
      ...at,
      ...countsOf(total),
      hit_rate: total.failures ? total.hits / total.failures : null,
      entries: entries.filter((e) => e.catalog_entry_id !== null).length,
      unmatched_messages: unmatched.top.length,
      unmatched_truncated: unmatched.truncated,
    },
    ...entries.map((e) => ({
      type: "entry",
      ...at,
      catalog_entry_id: e.catalog_entry_id,
      category: e.category,
      severity: e.severity,
      ...countsOf(e),
    })),
    ...rollUp(entries, "category").map((c) => ({ type: "category", ...at, ...c })),
    ...rollUp(entries, "severity").map((c) => ({ type: "severity", ...at, ...c })),
    ...unmatched.top.map((u) => ({ type: "unmatched", ...at, ...u })),
  ];
  return { lines, failures: total.failures };
}

async function aggregateTenant(day: string, tenantId: string, start: Date, end: Date): Promise<AggregatedTenant> {
  const { lines, failures } = await linesOf(day, tenantId, start, end);
  const key = aggregateKeyOf(day, tenantId);
  const out = await writeJsonl(key, lines, { gzip: true, metadata: { day, "tenant-id": tenantId } });
  const { rows } = await withTx(() =>
    query<{ runs: number; previous_sha256: string | null }>(sql.upsertAggregate, [
      tenantId,
      day,
      key,
      out.sha256,
      out.rows,
      failures,
      out.bytes,
      clock().now(),
    ]),
  );
  const prev = rows[0]?.previous_sha256 ?? null;
  const change = prev === null ? "new" : prev === out.sha256 ? "unchanged" : "changed";
  m.aggregationObjects.inc({ change });
  m.aggregationRows.inc(out.rows);
  return {
    tenant_id: tenantId,
    object_key: key,
    sha256: out.sha256,
    rows: out.rows,
    failures,
    bytes: out.bytes,
    change,
  };
}

/**
 * Aggregate UTC day `day` (default: yesterday by the clock) for every tenant with failures that
 * day. A tenant whose object cannot be written does not stop the others; the run then throws
 * (the cron fails and is seen failing) after writing what it could.
 *
 * @example
 *   const r = await Failures.aggregateDay("2026-12-01"); // r.tenants[0].object_key
 */
export async function aggregateDay(day: string = yesterday()): Promise<AggregationResult> {
  const { start, end } = dayBounds(day);
  const result: AggregationResult = { day, tenants: [], failed: [] };
  try {
    const { rows } = await query<{ tenant_id: string }>(sql.tenantsOfDay, [start, end]);
    for (const { tenant_id } of rows) {
      try {
        result.tenants.push(await aggregateTenant(day, tenant_id, start, end));
      } catch (e) {
        log.error("failure aggregation of a tenant failed", { day, tenantId: tenant_id, err: e });
        result.failed.push({ tenant_id, error: e instanceof Error ? e.message : String(e) });
      }
    }
  } catch (e) {
    m.aggregationRuns.inc({ outcome: "error" });
    throw e;
  }
  if (result.failed.length > 0) {
    m.aggregationRuns.inc({ outcome: "error" });
    throw new AggregationFailedError(day, result.failed);
  }
  m.aggregationRuns.inc({ outcome: "ok" });
  m.aggregationLastSuccess.set({}, clock().nowMs() / 1000);
  return result;
}
