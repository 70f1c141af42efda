/**
 * What `record` accepts: one status change as core code records it. Apart from the
 * status-history domain's schema.ts, so the many bundles that record history (jobs, credits,
 * breakers, tenancy) do not carry its query and export schemas.
 */
import * as z from "zod/mini";

export const EntityType = z
  .string()
  .check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "lower-case letters, digits and underscores, starting with a letter"));
export const EntityId = z.string().check(z.minLength(1), z.maxLength(200));
export const Status = z.string().check(z.minLength(1), z.maxLength(64));
export const Actor = z.string().check(z.minLength(1), z.maxLength(200));

/** One status change, as core code records it (actor, tenant and correlation id come from the context). */
export const HistoryEntry = z.object({
  entity_type: EntityType,
  entity_id: EntityId,
  old_status: z.optional(z.nullable(Status)),
  new_status: Status,
  reason: z.optional(z.nullable(z.string().check(z.maxLength(2000)))),
  metadata: z.optional(z.record(z.string(), z.unknown())),
  /** Defaults to the context's actor (`key:<id>`, `system:<name>`). */
  actor: z.optional(Actor),
  /** Defaults to the context's tenant. */
  tenant_id: z.optional(z.uuid()),
});
export type HistoryEntry = z.input<typeof HistoryEntry>;
