/**
 * The `dev` tenant of a local AOS, and an admin key for it on every start.
 *
 * Why a fresh key each start rather than "the tenant exists, mint one yourself": only a key's
 * hash is stored, so the key printed on the first start cannot be shown again, and the one
 * moment a developer needs a key is right after `npm start`. Minting one per start costs a row;
 * earlier keys stay valid (a key pasted into a shell or a .env keeps working across restarts).
 * They are all named "npm start" so `aos keys list --tenant dev` shows where they came from.
 */
import { randomUUID } from "node:crypto";
import { withContext } from "../core/context.ts";
import * as Tenancy from "../core/tenancy/index.ts";
import { TenantExistsError, TenantNotFoundError } from "../core/tenancy/index.ts";

export const DEV_TENANT = { slug: "dev", name: "Local development" } as const;

export interface SeedResult {
  tenantId: string;
  /** True when this start created the tenant. */
  created: boolean;
  /** The new admin key, shown once. */
  key: string;
}

export async function seedDevTenant(): Promise<SeedResult> {
  const id = randomUUID();
  return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "npm-start" } }, async () => {
    let created = false;
    let tenantId: string;
    try {
      tenantId = (await Tenancy.findTenant(DEV_TENANT.slug)).id;
    } catch (e) {
      if (!(e instanceof TenantNotFoundError)) throw e;
      try {
        tenantId = (await Tenancy.createTenant({ ...DEV_TENANT, initial_key_role: "none" })).id;
        created = true;
      } catch (e2) {
        // A second `aos dev` on the same database created it a moment ago.
        if (!(e2 instanceof TenantExistsError)) throw e2;
        tenantId = (await Tenancy.findTenant(DEV_TENANT.slug)).id;
      }
    }
    const { key } = await Tenancy.createKey({ role: "admin", name: "npm start", tenant: tenantId });
    return { tenantId, created, key };
  });
}
