/**
 * Credits held while a direct skill execution runs (POST /api/v1/skills/{name}/execute), as a
 * card payment is authorised and then captured: `hold` before the call (402 when the tenant's
 * available credits do not cover it), then `capture` when it succeeded or `releaseHold` when it
 * failed. Each step is one statement on the tenant's balance row (one round trip), never held across the call.
 * A hold whose caller died (a crashed Lambda) is released after it expires (`releaseExpiredHolds`,
 * run by the SkillIdempotencySweep cron).
 *
 * Ledger: `reserve:hold:<id>` at the hold, then `charge:hold:<id>` (the one definition of a
 * charge, chargeRowsFrom) or `release:hold:<id>`, each applied to the balance row at once: a hold
 * has no job to settle it later.
 */
import { actorName, useActor } from "../context.ts";
import { InternalError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import * as sql from "./credits.sql.ts";
import { toAmount } from "./credits.sql.ts";
import { InsufficientCreditsError } from "./errors.ts";
import { creditMetrics } from "./metrics.ts";

/** Expired holds released per statement batch by the sweep. */
const SWEEP_BATCH = 500;

/** What a hold pays for: the `operation` label of `aos_credit_refusals_total` when it is refused. */
export type HoldOperation = "skill_execute" | "agent_invoke";

/**
 * Hold `amount` of the tenant's available credits for `reason` until `expiresAt`; the hold's id.
 * Throws InsufficientCreditsError (402 `credits.insufficient`, details {required, available})
 * having written nothing, counted under the caller's `operation`.
 *
 * @example
 *   const holdId = await Credits.hold(tenantId, 11, "skill voyage_embed", new Date(Date.now() + 60_000), "skill_execute");
 *   try { await work(); await Credits.capture(tenantId, holdId); } catch (e) { await Credits.releaseHold(tenantId, holdId); throw e; }
 */
export async function hold(
  tenantId: string,
  amount: number,
  reason: string,
  expiresAt: Date,
  operation: HoldOperation,
): Promise<string> {
  const { rows } = await query<{ id: string | null; available: string }>(sql.holdCredits, [
    tenantId,
    amount,
    reason,
    expiresAt,
    actorName(useActor()),
  ]);
  const row = rows[0];
  if (!row?.id) {
    creditMetrics.refusals.inc({ operation });
    throw new InsufficientCreditsError(amount, toAmount(row?.available ?? "0"));
  }
  return row.id;
}

async function settleHold(statement: typeof sql.captureHold, tenantId: string, id: string, actor: string) {
  const { rows } = await query<{ charged?: string | null; released?: string | null; updated: string }>(statement, [
    id,
    tenantId,
    actor,
  ]);
  const row = rows[0];
  const amount = row?.charged ?? row?.released ?? null;
  if (amount === null) return null;
  if (Number(row?.updated) !== 1) throw new InternalError(`hold ${id}: tenant ${tenantId} has no balance`);
  return toAmount(amount);
}

/** The hold charged (the work it paid for succeeded); the amount, or null when it was settled already. */
export function capture(tenantId: string, id: string): Promise<number | null> {
  return settleHold(sql.captureHold, tenantId, id, actorName(useActor()));
}

/** The hold released (the work failed): nothing charged; the amount, or null when it was settled already. */
export function releaseHold(tenantId: string, id: string): Promise<number | null> {
  return settleHold(sql.releaseHold, tenantId, id, actorName(useActor()));
}

/** Release every hold past its expiry (its caller died); how many. Across tenants: a cron's work. */
export async function releaseExpiredHolds(): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await withTx(async () => {
      const { rows } = await query<{ id: string; tenant_id: string }>(sql.expiredHolds, [clock().now(), SWEEP_BATCH]);
      for (const h of rows) await query(sql.releaseHold, [h.id, h.tenant_id, "system:credit-holds"]);
      return rows.length;
    });
    total += n;
    if (n < SWEEP_BATCH) break;
  }
  if (total > 0) log.warn("expired credit holds released (their callers died)", { count: total });
  return total;
}
