/**
 * The movements jobs make: `reserve` at spawn, `charge` / `release` per finished item, `refund` on
 * cancellation, `settle` at finalisation. Each is meant to run inside the caller's transaction
 * (the job's own statements commit or roll back with it); outside one, `withTx` gives each its own.
 *
 * Only `reserve`, `refund` and `settle` touch the balance row, once per job each: per-item rows
 * are ledger inserts keyed by the item, so a busy tenant's workers never queue on its row.
 */
import { actorName, useActor } from "../context.ts";
import { InternalError } from "../errors.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as sql from "./credits.sql.ts";
import { type FiguresRow, toAmount } from "./credits.sql.ts";
import { InsufficientCreditsError } from "./errors.ts";
import { creditMetrics } from "./metrics.ts";
import type { JobCredits } from "./schema.ts";

type Kind = "grant" | "reserve" | "charge" | "release" | "refund";

/** The ledger row of one movement, written with the context's actor. */
export function ledgerParams(
  tenantId: string,
  kind: Kind,
  amount: number,
  key: string,
  ctx: { jobId?: string; itemId?: string; reason?: string } = {},
): unknown[] {
  return [
    tenantId,
    kind,
    amount,
    ctx.jobId ?? null,
    ctx.itemId ?? null,
    key,
    ctx.reason ?? null,
    actorName(useActor()),
  ];
}

/**
 * Hold `amount` for job `jobId`: one conditional UPDATE, so concurrent reservations of a tenant
 * serialise on its row and none can take more than is available. An amount of 0 is a no-op (no
 * ledger row). Throws InsufficientCreditsError (402) naming what the row has available, having
 * written nothing.
 *
 * @example
 *   await withTx(async () => {
 *     await query(sqlInsertJob, [...]);
 *     await Credits.reserve(tenantId, jobId, items.length * creditsPerItem);
 *   });
 */
export async function reserve(tenantId: string, jobId: string, amount: number): Promise<void> {
  // Callers may hand over a numeric column as pg returns it (text): the figures below are numbers.
  amount = toAmount(amount);
  if (amount === 0) return;
  await withTx(async () => {
    const { rowCount } = await query<FiguresRow>(sql.reserve, [tenantId, amount]);
    if (rowCount === 0) {
      const { rows } = await query<{ available: string }>(sql.available, [tenantId]);
      creditMetrics.refusals.inc({ operation: "job_spawn" });
      throw new InsufficientCreditsError(amount, toAmount(rows[0]?.available ?? "0"));
    }
    await query(sql.insertLedger, ledgerParams(tenantId, "reserve", amount, `reserve:${jobId}`, { jobId }));
    afterCommit(() => creditMetrics.reservations.inc(amount));
  });
}

/**
 * An item done costs `amount`: its `charge:<itemId>` row through the one definition of a charge
 * (chargeRowsFrom, which the jobs' completions splice into their statements), applied to the
 * balance by `settle`. False when the item was already charged. Production charges items in the
 * completion's own statement; this is that same charge for a caller holding an item otherwise.
 */
export async function charge(tenantId: string, jobId: string, itemId: string, amount: number): Promise<boolean> {
  const { rowCount } = await query(sql.chargeItem, [tenantId, jobId, itemId, amount, actorName(useActor())]);
  return rowCount === 1;
}

/** An item failed: its cost goes back (`release:<itemId>`), applied by `settle`; false if already released. */
export async function release(tenantId: string, jobId: string, itemId: string, amount: number): Promise<boolean> {
  // An amount of 0 is written too, so the ledger shows every finished item of every job.
  const { rowCount } = await query(
    sql.insertLedgerOnce,
    ledgerParams(tenantId, "release", amount, `release:${itemId}`, { jobId, itemId }),
  );
  return rowCount === 1;
}

/**
 * Cancellation: the cancelled items' cost goes back at once (`refund:<jobId>`; the reserve drops
 * now, since a job is cancelled once). False, and nothing changed, when the job was refunded
 * already. A refund of 0 writes its row too, so a repeated cancel still finds it.
 */
export async function refund(tenantId: string, jobId: string, amount: number, reason: string): Promise<boolean> {
  amount = toAmount(amount);
  return withTx(async () => {
    const { rowCount } = await query(
      sql.insertLedgerOnce,
      ledgerParams(tenantId, "refund", amount, `refund:${jobId}`, { jobId, reason }),
    );
    if (rowCount === 0) return false;
    if (amount > 0) {
      const updated = await query(sql.refund, [tenantId, amount]);
      if (updated.rowCount === 0) throw new InternalError(`refund of job ${jobId}: tenant ${tenantId} has no balance`);
      afterCommit(() => creditMetrics.refunds.inc(amount));
    }
    return true;
  });
}

/**
 * Finalisation, once per job: apply its charges and releases to the balance row (balance -=
 * charged, reserved -= charged + released). The caller holds the job row FOR UPDATE and sets
 * `settled_at` in the same transaction; that is what makes it once.
 */
export async function settle(tenantId: string, jobId: string): Promise<{ charged: number; released: number }> {
  const { rows } = await query<{ charged: string; released: string; updated: number }>(sql.settle, [tenantId, jobId]);
  const row = rows[0];
  const charged = toAmount(row?.charged ?? "0");
  const released = toAmount(row?.released ?? "0");
  if ((charged > 0 || released > 0) && row?.updated !== 1)
    throw new InternalError(`settle of job ${jobId}: tenant ${tenantId} has no balance`);
  return { charged, released };
}

/**
 * A job's reserved, charged, released and refunded credits, from the ledger. With `tenantId`, only
 * that tenant's rows count (a job id of another tenant gives zeros).
 */
export async function jobCredits(jobId: string, tenantId?: string): Promise<JobCredits> {
  return (await jobsCredits([jobId], tenantId)).get(jobId) as JobCredits;
}

/** Several jobs' credits in one query (a page of jobs); a job without ledger rows has zeros. */
export async function jobsCredits(jobIds: readonly string[], tenantId?: string): Promise<Map<string, JobCredits>> {
  const zero = (): JobCredits => ({ reserved: 0, charged: 0, released: 0, refunded: 0 });
  const out = new Map(jobIds.map((id) => [id, zero()]));
  if (jobIds.length === 0) return out;
  const { rows } = await query<Record<keyof JobCredits | "job_id", string>>(sql.jobsCredits, [
    jobIds,
    tenantId ?? null,
  ]);
  for (const r of rows)
    out.set(r.job_id, {
      reserved: toAmount(r.reserved),
      charged: toAmount(r.charged),
      released: toAmount(r.released),
      refunded: toAmount(r.refunded),
    });
  return out;
}
