/**
 * Tenancy: tenants, API keys, authentication. The public face of the domain.
 * @example
 *   const { key } = await Tenancy.createKey({ role: "agent", name: "worker-1" });
 *   const actor = await Tenancy.authenticate(key);
 */
import { authenticate, flushKeyUsage } from "./authenticate.ts";
import { createKey, createKeyFor, evictKeyCache, listKeys, revokeKey } from "./keys.ts";
import { findTenant, resolveTenant } from "./resolve.ts";
import { createTenant, listTenants } from "./tenants.ts";

export const Tenancy = {
  authenticate,
  flushKeyUsage,
  createTenant,
  listTenants,
  findTenant,
  resolveTenant,
  createKey,
  createKeyFor,
  listKeys,
  revokeKey,
  evictKeyCache,
};

export type { KeyActor } from "./authenticate.ts";
export * from "./errors.ts";
export { TenancyEvent, TenancyEventIn } from "./events.ts";
export * from "./schema.ts";
export { SYSTEM_TENANT_ID } from "./system.ts";
export type { KeyRow, TenantRow } from "./tenancy.sql.ts";
