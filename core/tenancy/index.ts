/**
 * Tenancy: tenants, API keys, authentication. The public face of the domain: an index of named
 * exports, imported as a namespace so esbuild keeps only what a handler calls.
 * @example
 *   import * as Tenancy from "../core/tenancy/index.ts";
 *   const { key } = await Tenancy.createKey({ role: "agent", name: "worker-1" });
 *   const actor = await Tenancy.authenticate(key);
 */

import { authenticate, flushKeyUsage } from "./authenticate.ts";
import { createKey, createKeyFor, evictKeyCache, listKeys, revokeKey } from "./keys.ts";
import { findTenant, resolveTenant } from "./resolve.ts";
import { createTenant, listTenants } from "./tenants.ts";

export type { KeyActor } from "./authenticate.ts";
export * from "./errors.ts";
export { TenancyEvent, TenancyEventIn } from "./events.ts";
export * from "./schema.ts";
export { SYSTEM_TENANT_ID } from "./system.ts";
export type { KeyRow, TenantRow } from "./tenancy.sql.ts";
export {
  /** Resolve a bearer key to its actor (lookups cached in Redis); throws InvalidKeyError, RevokedKeyError, ExpiredKeyError, TenantSuspendedError. */
  authenticate,
  /** Create an API key (in the caller's tenant, or the one an admin names); the key is returned once. */
  createKey,
  /** Insert a key for a tenant already resolved and authorised (createKey, createTenant, the CLI). */
  createKeyFor,
  /** Admin: create a tenant and, unless told not to, its first operator key (shown once). */
  createTenant,
  /** Drop a key's cached lookup from Redis. */
  evictKeyCache,
  /** A tenant by slug or id; throws TenantNotFoundError. */
  findTenant,
  /** Move the key-use marks from Redis to `api_keys.last_used_at` (the KeyUsageFlush cron, every minute). */
  flushKeyUsage,
  /** The tenant's keys: prefixes, roles, last use; never the keys themselves. */
  listKeys,
  /** Admin: list tenants, keyset-paginated. */
  listTenants,
  /** The tenant a request acts for: the actor's own, or, for an admin or system actor, the one it names. */
  resolveTenant,
  /** Revoke a key; its cached lookup is evicted at once. */
  revokeKey,
};
