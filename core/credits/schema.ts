/** The credits domain's wire shapes (zod/mini). Amounts are numbers with at most 4 decimals. */
import * as z from "zod/mini";
import { PageQuery } from "../platform/pagination.ts";
import { TenantRef } from "../tenancy/index.ts";

export const Amount = z.number().check(
  z.positive(),
  z.maximum(1e12),
  z.refine((n) => Math.round(n * 10_000) === n * 10_000, "at most 4 decimals"),
);

export const GrantBody = z
  .strictObject({
    /** Admin only: the tenant to credit (slug or id); absent: the key's own tenant. */
    tenant: z.optional(TenantRef),
    /** Deprecated: the earlier name of `tenant`, still accepted. */
    tenant_id: z.optional(TenantRef).register(z.globalRegistry, {
      deprecated: true,
      description: "Deprecated: the earlier name of `tenant`, still accepted.",
    }),
    amount: Amount,
    reason: z.string().check(z.minLength(1), z.maxLength(500)),
  })
  .check(
    z.refine((b) => !(b.tenant !== undefined && b.tenant_id !== undefined && b.tenant !== b.tenant_id), {
      message: "tenant and tenant_id (its deprecated name) name different tenants: send tenant alone",
      path: ["tenant_id"],
    }),
  );
export type GrantBody = z.output<typeof GrantBody>;

export const CreditsQuery = z.strictObject({ tenant: z.optional(TenantRef) });
export type CreditsQuery = z.output<typeof CreditsQuery>;

/** Live figures: settled balance plus the charges and releases of jobs not yet settled. */
export const CreditsReply = z.object({
  tenant_id: z.uuid(),
  balance: z.number(),
  reserved: z.number(),
  available: z.number(),
});
export type CreditsReply = z.infer<typeof CreditsReply>;

export const LedgerKind = z.enum(["grant", "reserve", "charge", "release", "refund"]);

export const LedgerQuery = z.strictObject({
  ...PageQuery.shape,
  kind: z.optional(LedgerKind),
  job_id: z.optional(z.uuid()),
  tenant: z.optional(TenantRef),
});
export type LedgerQuery = z.output<typeof LedgerQuery>;

export const LedgerEntry = z.object({
  id: z.int(),
  tenant_id: z.uuid(),
  kind: LedgerKind,
  amount: z.number(),
  balance_delta: z.number(),
  reserved_delta: z.number(),
  job_id: z.nullable(z.uuid()),
  item_id: z.nullable(z.uuid()),
  /** A charge for several items of one job (a batch completion): their ids; item_id is then null. */
  item_ids: z.nullable(
    z
      .array(z.uuid())
      .check(
        z.describe("a charge for several items of one job (one completion): their ids in order; item_id is then null"),
      ),
  ),
  reason: z.nullable(z.string()),
  actor: z.string(),
  created_at: z.string(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;

/** The items a ledger entry concerns: its item_id, or a batch charge's item_ids; none for a job's or tenant's. */
export const entryItemIds = (e: Pick<LedgerEntry, "item_id" | "item_ids">): string[] =>
  e.item_ids ?? (e.item_id ? [e.item_id] : []);

/** A job's credits, by kind (GET /api/v1/jobs/{id}). */
export interface JobCredits {
  reserved: number;
  charged: number;
  released: number;
  refunded: number;
}
