import { useActor, useTenant } from "../context.ts";
import { ForbiddenError } from "../errors.ts";
import { query } from "../platform/db/index.ts";
import { TenantNotFoundError } from "./errors.ts";
import type { TenantRow } from "./tenancy.sql.ts";
import * as sql from "./tenancy.sql.ts";

/** Find a tenant by slug or id. */
export async function findTenant(ref: string): Promise<TenantRow> {
  const { rows } = await query<TenantRow>(sql.tenantByRef, [ref]);
  if (!rows[0]) throw new TenantNotFoundError(ref);
  return rows[0];
}

/**
 * The tenant a request acts for: the actor's own, or, for an admin (or system) actor, the one it
 * names. A non-admin naming another tenant is refused without saying whether that tenant exists.
 */
export async function resolveTenant(ref: string | undefined): Promise<string> {
  if (ref === undefined) return useTenant();
  const actor = useActor();
  const privileged = actor.type === "system" || (actor.type === "key" && actor.role === "admin");
  if (!privileged) {
    const own = useTenant();
    const { rows } = await query<TenantRow>(sql.tenantByRef, [ref]);
    if (rows[0]?.id !== own)
      throw new ForbiddenError("Only an admin key may act for another tenant", "auth.cross_tenant");
    return own;
  }
  return (await findTenant(ref)).id;
}
