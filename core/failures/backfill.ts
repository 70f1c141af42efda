/**
 * The backfill of historical failures (`aos failures backfill`): what failed before the catalog
 * recorded failures, or while recording was off, becomes failure_matches rows, matched as live
 * failures are (the same error built from the same data: sources.ts).
 *
 * Sources: failed job items (`job_items.status = 'failed'` with an `error`) and `queue_failures`.
 * Read in keyset batches; each record's id is derived from its source row (a name-based UUID of
 * `job_item:<id>` or `queue_failure:<id>`), so a second run inserts nothing (`on conflict (id) do
 * nothing`) and counts those rows as already there; a row whose failure was recorded live is
 * skipped (and counted as already there) rather than recorded twice. No metric is counted: the
 * hit and miss rates are of live failures.
 *
 * @example
 *   const r = await Failures.backfill({ since: new Date("2026-01-01"), batchSize: 500 });
 *   // r.sources: [{ source: "job_items", scanned, matched, missed, already, written }, ...]
 */
import { createHash } from "node:crypto";
import { query } from "../platform/db/index.ts";
import { SYSTEM_TENANT_ID } from "../tenancy/index.ts";
import * as sql from "./backfill.sql.ts";
import { classify } from "./classify.ts";
import { type RecordInput, toMessage } from "./record.ts";
import type { FailureRecordMessage } from "./schema.ts";
import { jobItemError, queueFailureError } from "./sources.ts";

export interface BackfillOptions {
  /** Only this tenant's failures (queue_failures rows without a tenant are the platform's). */
  tenantId?: string | undefined;
  /** Only failures at or after this time. */
  since?: Date | undefined;
  /** Match and count; write nothing. */
  dryRun?: boolean | undefined;
  /** Source rows per read and per insert. */
  batchSize: number;
}

export interface BackfillSource {
  source: "job_items" | "queue_failures";
  scanned: number;
  /** Matched to an entry (of the rows not already there). */
  matched: number;
  /** Recorded as misses (of the rows not already there). */
  missed: number;
  /** Recorded before: live, or by an earlier backfill. */
  already: number;
  /** Inserted now (with --dry-run: would be). */
  written: number;
}

export interface BackfillReport extends Omit<BackfillSource, "source"> {
  sources: BackfillSource[];
}

/** A version-5-shaped UUID named by `name` (SHA-1): the same source row always gets the same id. */
export function derivedId(name: string): string {
  const h = createHash("sha1").update(`aos-failure-backfill:${name}`).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A source row ready to match: its derived id, whether it was recorded live, and its record's input. */
interface Candidate {
  id: string;
  live: boolean;
  failedAt: Date;
  input: RecordInput;
}

interface ItemRow {
  id: string;
  jobId: string;
  tenantId: string;
  attempt: number;
  error: Record<string, unknown>;
  task: string;
  failedAt: Date;
  live: boolean;
}

interface QueueRow {
  id: number;
  queue: string;
  messageId: string;
  errorCode: string;
  errorMessage: string;
  receiveCount: number;
  failedAt: Date;
  tenantId: string;
  live: boolean;
}

const itemCandidate = (r: ItemRow): Candidate => ({
  id: derivedId(`job_item:${r.id}`),
  live: r.live,
  failedAt: r.failedAt,
  input: {
    error: jobItemError(r.error),
    runId: r.jobId,
    skillId: r.task,
    tenantId: r.tenantId,
    context: { item_id: r.id, attempt: r.attempt, final: true, backfilled: true },
  },
});

const queueCandidate = (r: QueueRow): Candidate => ({
  id: derivedId(`queue_failure:${r.id}`),
  live: r.live,
  failedAt: r.failedAt,
  input: {
    error: queueFailureError(r.errorCode, r.errorMessage),
    runId: r.messageId,
    tenantId: r.tenantId,
    context: { queue: r.queue, receive_count: r.receiveCount, queue_failure_id: r.id, backfilled: true },
  },
});

/** Match one batch and write what is new; counts into `s`. */
async function settleBatch(cs: Candidate[], s: BackfillSource, dryRun: boolean): Promise<void> {
  s.scanned += cs.length;
  const fresh = cs.filter((c) => !c.live);
  s.already += cs.length - fresh.length;
  if (!fresh.length) return;
  const { rows } = await query<{ id: string }>(sql.existingIds, [fresh.map((c) => c.id)]);
  const there = new Set(rows.map((r) => r.id));
  const records: FailureRecordMessage[] = [];
  for (const c of fresh) {
    if (there.has(c.id)) {
      s.already++;
      continue;
    }
    const match = await classify(c.input.error);
    if (match.catalog_entry_id) s.matched++;
    else s.missed++;
    records.push(toMessage(c.input, match, c.id, c.failedAt));
  }
  if (!records.length) return;
  if (dryRun) {
    s.written += records.length;
    return;
  }
  const inserted = await query<{ id: string }>(sql.insertBatch, [JSON.stringify(records)]);
  s.written += inserted.rows.length;
  // Inserted meanwhile by a concurrent backfill: already there after all.
  s.already += records.length - inserted.rows.length;
}

export async function backfill(o: BackfillOptions): Promise<BackfillReport> {
  const tenant = o.tenantId ?? null;
  const since = o.since ?? null;
  const dryRun = o.dryRun === true;
  const zero = (source: BackfillSource["source"]): BackfillSource => ({
    source,
    scanned: 0,
    matched: 0,
    missed: 0,
    already: 0,
    written: 0,
  });

  const items = zero("job_items");
  for (let after = "00000000-0000-0000-0000-000000000000"; ; ) {
    const { rows } = await query<ItemRow>(sql.failedItems, [tenant, since, after, o.batchSize]);
    if (!rows.length) break;
    await settleBatch(rows.map(itemCandidate), items, dryRun);
    after = (rows[rows.length - 1] as ItemRow).id;
    if (rows.length < o.batchSize) break;
  }

  const queue = zero("queue_failures");
  for (let after = 0; ; ) {
    const { rows } = await query<QueueRow>(sql.queueFailures, [tenant, since, after, o.batchSize, SYSTEM_TENANT_ID]);
    if (!rows.length) break;
    await settleBatch(rows.map(queueCandidate), queue, dryRun);
    after = Number((rows[rows.length - 1] as QueueRow).id);
    if (rows.length < o.batchSize) break;
  }

  const sources = [items, queue];
  const sum = (k: keyof Omit<BackfillSource, "source">) => sources.reduce((n, s) => n + s[k], 0);
  return {
    sources,
    scanned: sum("scanned"),
    matched: sum("matched"),
    missed: sum("missed"),
    already: sum("already"),
    written: sum("written"),
  };
}
