/**
 * Retention: failure records older than FAILURE_RETENTION_DAYS are deleted, in batches (short
 * transactions, no long lock), by the daily FailureRetention cron; at most MAX_BATCHES a run, the
 * rest the next day.
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import * as sql from "./query.sql.ts";

const BATCH = 5_000;
const MAX_BATCHES = 100;

export async function deleteExpired(): Promise<{ deleted: number; more: boolean }> {
  const cutoff = new Date(clock().nowMs() - config().failures.retentionDays * 86_400_000);
  let deleted = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const { rowCount } = await query(sql.deleteOlder, [cutoff, BATCH]);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < BATCH) return { deleted, more: false };
  }
  return { deleted, more: true };
}
