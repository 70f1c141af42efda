/**
 * Grants, the live balance and the ledger listing: what the credits routes call.
 */
import { randomUUID } from "node:crypto";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as Idempotency from "../platform/idempotency/index.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import * as Tenancy from "../tenancy/index.ts";
import * as sql from "./credits.sql.ts";
import { type FiguresRow, type LedgerRow, ledgerPageSql, toAmount } from "./credits.sql.ts";
import { ledgerParams } from "./ledger.ts";
import { creditMetrics } from "./metrics.ts";
import type { CreditsQuery, CreditsReply, GrantBody, LedgerEntry, LedgerQuery } from "./schema.ts";

/**
 * A tenant's live figures: the balance row minus the charges and releases its unsettled jobs
 * have already written to the ledger. So an item's cost shows as soon as it is done, and the
 * figures are the same before and after its job settles.
 */
export async function liveBalance(tenantId: string): Promise<CreditsReply> {
  const { rows } = await query<FiguresRow>(sql.live, [tenantId]);
  const balance = toAmount(rows[0]?.balance ?? "0");
  const reserved = toAmount(rows[0]?.reserved ?? "0");
  // Subtracting the two doubles could show 0.30000000000000004; figures have 4 decimals.
  const available = Math.round((balance - reserved) * 10_000) / 10_000;
  return { tenant_id: tenantId, balance, reserved, available };
}

/**
 * Admin: add `amount` credits to a tenant (by slug or id; its own when `tenant` is absent; `tenant_id` is its deprecated name),
 * with a `grant` ledger row, in one transaction. Returns the tenant's live figures.
 *
 * @example
 *   await Credits.grant({ tenant: "acme", amount: 500, reason: "monthly top-up" });
 */
export async function grant(body: GrantBody): Promise<CreditsReply> {
  return (await grantOnce(body, undefined)).reply;
}

/**
 * `grant` with an `Idempotency-Key` (POST /api/v1/credits/grants), per the caller's tenant: the
 * key, the grant and its reply commit together, so a retried grant never credits twice; the same
 * key and body answer the first figures again (`replayed`), another body is 409
 * `idempotency.key_reused`.
 *
 * @example
 *   const { reply, replayed } = await Credits.grantOnce({ tenant: "acme", amount: 500, reason: "december" }, "acme-2026-12");
 */
export async function grantOnce(
  body: GrantBody,
  idempotencyKey: string | undefined,
): Promise<{ reply: CreditsReply; replayed: boolean }> {
  const tenantId = await Tenancy.resolveTenant(body.tenant ?? body.tenant_id);
  return withTx(() =>
    Idempotency.once("route:credits.grant", idempotencyKey, body, async () => {
      await query(sql.grant, [tenantId, body.amount]);
      await query(
        sql.insertLedger,
        ledgerParams(tenantId, "grant", body.amount, `grant:${randomUUID()}`, { reason: body.reason }),
      );
      afterCommit(() => {
        creditMetrics.grants.inc();
        creditMetrics.granted.inc(body.amount);
      });
      return liveBalance(tenantId);
    }),
  );
}

/** The live balance, reserved and available credits of the tenant (admins may name one). */
export async function balance(q: CreditsQuery): Promise<CreditsReply> {
  return liveBalance(await Tenancy.resolveTenant(q.tenant));
}

/** The cursor of the ledger is `[id]` of a page's last row: ids only grow, so newest first is id desc. */
function beforeId(cursor: string | undefined): number | undefined {
  return decodeCursor(cursor, [cursorPart.int(1)])?.[0];
}

/** The tenant's ledger, newest first, filtered by kind and job, keyset-paginated. */
export async function ledger(q: LedgerQuery): Promise<Page<LedgerEntry>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const { text, params } = ledgerPageSql({
    tenantId,
    kind: q.kind,
    jobId: q.job_id,
    beforeId: beforeId(q.cursor),
    limit: q.limit + 1,
  });
  const { rows } = await query<LedgerRow>(text, params);
  const entries = rows.map(
    (r): LedgerEntry => ({
      ...r,
      amount: toAmount(r.amount),
      balance_delta: toAmount(r.balance_delta),
      reserved_delta: toAmount(r.reserved_delta),
    }),
  );
  return toPage(entries, q.limit, (r) => [r.id]);
}
