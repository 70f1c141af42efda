/**
 * Credits: a balance per tenant and an append-only ledger of every movement (grant, reserve,
 * charge, release, refund), each with a unique idempotency key.
 *
 * The balance row changes once per job (reserve at spawn, settle at the end, refund on cancel),
 * never per item: an item's charge or release is only a ledger row, applied to the balance when
 * its job settles. So a busy tenant's items never queue on its balance row, and the live figures
 * (`balance()`) add the unsettled rows of open jobs to the row.
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as Credits from ".../core/credits/index.ts"`, then `Credits.reserve(...)`).
 */

import { balance, grant, grantOnce, ledger } from "./balance.ts";
import { capture, hold, releaseExpiredHolds, releaseHold } from "./holds.ts";
import { charge, jobCredits, jobsCredits, refund, release, reserve, settle } from "./ledger.ts";
import { chargeNow, releaseNow, reserveNow } from "./runs.ts";

export { chargeAppliedFrom, chargeRowsFrom } from "./credits.sql.ts";
export * from "./errors.ts";
export type { HoldOperation } from "./holds.ts";
export * from "./schema.ts";
export {
  /** Live balance, reserved and available of the tenant (admins may name one). */
  balance,
  /** A direct skill execution's hold charged (`charge:hold:<id>`), applied to the balance at once; null if settled already. */
  capture,
  /** An item done costs `amount` (`charge:<itemId>`, the one definition of a charge); false if already charged. */
  charge,
  /** A run that settles as it goes (workflows): charge `amount` of its reserve now, under `key`; false if already there. */
  chargeNow,
  /** Admin: add credits to a tenant (its own when `tenant` is absent). */
  grant,
  /** `grant` with an Idempotency-Key: a retried grant credits once and answers the first figures again. */
  grantOnce,
  /** Hold credits while a direct skill execution runs; 402 when the tenant's available credits are short. */
  hold,
  /** A job's reserved, charged, released and refunded credits, from the ledger (only `tenantId`'s rows when given). */
  jobCredits,
  /** Several jobs' credits in one query. */
  jobsCredits,
  /** The tenant's ledger, newest first, keyset-paginated. */
  ledger,
  /** Inside the caller's transaction: cancelled items' cost goes back at once (`refund:<jobId>`); false if already refunded. */
  refund,
  /** Inside the caller's transaction: an item failed, its cost goes back (`release:<itemId>`); false if already released. */
  release,
  /** Release every expired hold (its caller died); a cron's work. */
  releaseExpiredHolds,
  /** A direct skill execution's hold released (it failed: nothing charged); null if settled already. */
  releaseHold,
  /** A run that settles as it goes (workflows): give back `amount` of its reserve now, under `key`; false if already there. */
  releaseNow,
  /**
   * Inside the caller's transaction: hold `amount` for job `jobId` (ledger `reserve:<jobId>`).
   * Throws InsufficientCreditsError (402, details {required, available}) and writes nothing.
   */
  reserve,
  /** A run that settles as it goes (workflows): reserve `amount` now under `key` (402 when short); false if already there. */
  reserveNow,
  /**
   * Inside the caller's transaction, once per job (its finalisation, with the job row locked):
   * apply the job's charges and releases to the balance row.
   */
  settle,
};
