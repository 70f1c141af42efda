/**
 * Credits: a balance per tenant and an append-only ledger of every movement (grant, reserve,
 * charge, release, refund), each with a unique idempotency key.
 *
 * The balance row changes once per job (reserve at spawn, settle at the end, refund on cancel),
 * never per item: an item's charge or release is only a ledger row, applied to the balance when
 * its job settles. So a busy tenant's items never queue on its balance row, and the live figures
 * (`balance()`) add the unsettled rows of open jobs to the row.
 *
 * STUB: interface fixed (jobs call it); to be implemented in ledger.ts / balance.ts / credits.sql.ts.
 */

import type { Page } from "../platform/pagination.ts";
import type { CreditsQuery, CreditsReply, GrantBody, JobCredits, LedgerEntry, LedgerQuery } from "./schema.ts";

const todo = (): never => {
  throw new Error("not implemented");
};

export const Credits = {
  /** Admin: add credits to a tenant (its own when `tenant_id` is absent). */
  grant: async (_body: GrantBody): Promise<CreditsReply> => todo(),
  /** Live balance, reserved and available of the tenant (admins may name one). */
  balance: async (_query: CreditsQuery): Promise<CreditsReply> => todo(),
  /** The tenant's ledger, newest first, keyset-paginated. */
  ledger: async (_query: LedgerQuery): Promise<Page<LedgerEntry>> => todo(),
  /**
   * Inside the caller's transaction: hold `amount` for job `jobId` (ledger `reserve:<jobId>`).
   * Throws InsufficientCreditsError (402, details {required, available}) and writes nothing.
   */
  reserve: async (_tenantId: string, _jobId: string, _amount: number): Promise<void> => todo(),
  /** Inside the caller's transaction: an item done costs `amount` (`charge:<itemId>`); false if already charged. */
  charge: async (_tenantId: string, _jobId: string, _itemId: string, _amount: number): Promise<boolean> => todo(),
  /** Inside the caller's transaction: an item failed, its cost goes back (`release:<itemId>`); false if already released. */
  release: async (_tenantId: string, _jobId: string, _itemId: string, _amount: number): Promise<boolean> => todo(),
  /** Inside the caller's transaction: cancelled items' cost goes back at once (`refund:<jobId>`); false if already refunded. */
  refund: async (_tenantId: string, _jobId: string, _amount: number, _reason: string): Promise<boolean> => todo(),
  /**
   * Inside the caller's transaction, once per job (its finalisation, with the job row locked):
   * apply the job's charges and releases to the balance row.
   */
  settle: async (_tenantId: string, _jobId: string): Promise<{ charged: number; released: number }> => todo(),
  /** A job's reserved, charged, released and refunded credits, from the ledger. */
  jobCredits: async (_jobId: string): Promise<JobCredits> => todo(),
};

export * from "./errors.ts";
export * from "./schema.ts";
