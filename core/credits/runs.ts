/**
 * Credits of a run that settles as it goes (a workflow run): every movement is applied to the
 * balance row at once, in the caller's transaction, as a direct execution's hold is. The run
 * reserves its steps' cost at start, each op charges what it cost, and the end (or a cancel)
 * releases the rest. Ledger rows carry no job (`job_id` null) and are keyed by the caller
 * (`reserve:wf:<run>`, `charge:wf:<run>:<op>`, `release:wf:<run>`), so a redelivered message or a
 * repeated cancel writes and applies nothing twice.
 */
import { InternalError } from "../errors.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as sql from "./credits.sql.ts";
import { type FiguresRow, toAmount } from "./credits.sql.ts";
import { InsufficientCreditsError } from "./errors.ts";
import { ledgerParams } from "./ledger.ts";
import { creditMetrics } from "./metrics.ts";

async function move(
  tenantId: string,
  kind: "reserve" | "charge" | "release",
  amount: number,
  key: string,
  reason: string,
): Promise<boolean> {
  amount = toAmount(amount);
  return withTx(async () => {
    const { rowCount } = await query(sql.insertLedgerOnce, ledgerParams(tenantId, kind, amount, key, { reason }));
    if (rowCount === 0) return false;
    if (amount === 0) return true;
    const deltas = kind === "reserve" ? [0, amount] : kind === "charge" ? [-amount, -amount] : [0, -amount];
    // Only a reserve needs room: a charge or release gives back what its reserve took.
    const need = kind === "reserve" ? amount : Number.NEGATIVE_INFINITY;
    const updated = await query<FiguresRow>(sql.applyNow, [tenantId, deltas[0], deltas[1], need]);
    if (updated.rowCount === 0) {
      if (kind !== "reserve") throw new InternalError(`${kind} ${key}: tenant ${tenantId} has no balance`);
      const { rows } = await query<{ available: string }>(sql.available, [tenantId]);
      creditMetrics.refusals.inc({ operation: "workflow_run" });
      throw new InsufficientCreditsError(amount, toAmount(rows[0]?.available ?? "0"));
    }
    if (kind === "reserve") afterCommit(() => creditMetrics.reservations.inc(amount));
    return true;
  });
}

/**
 * Reserve `amount` now (ledger `key`, applied to the balance row at once). Throws
 * InsufficientCreditsError (402) having written nothing; false when `key` was written already.
 *
 * @example
 *   await withTx(async () => { await insertRun(); await Credits.reserveNow(tenantId, 3, `reserve:wf:${runId}`, "workflow run"); });
 */
export function reserveNow(tenantId: string, amount: number, key: string, reason: string): Promise<boolean> {
  return move(tenantId, "reserve", amount, key, reason);
}

/** Charge `amount` out of what was reserved (balance and reserve both drop now); false when `key` exists. */
export function chargeNow(tenantId: string, amount: number, key: string, reason: string): Promise<boolean> {
  return move(tenantId, "charge", amount, key, reason);
}

/** Give back `amount` of what was reserved (the reserve drops now); false when `key` exists. */
export function releaseNow(tenantId: string, amount: number, key: string, reason: string): Promise<boolean> {
  return move(tenantId, "release", amount, key, reason);
}
