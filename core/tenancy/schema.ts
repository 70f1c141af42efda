/**
 * Tenancy's zod schemas. Runtime schemas use `zod/mini` (tree-shakes to ~20 KB, against ~100 KB
 * for the classic API) because every HTTP handler bundles them; see docs/decisions/0004.
 */
import * as z from "zod/mini";
import { PageQuery } from "../platform/pagination.ts";

export const Role = z.enum(["admin", "operator", "agent", "viewer"]);
export type Role = z.infer<typeof Role>;

export const TenantSlug = z
  .string()
  .check(
    z.regex(
      /^[a-z0-9][a-z0-9-]{0,62}$/,
      "lower-case letters, digits and dashes, 1-63 characters, not starting with a dash",
    ),
  );

const Name = z.string().check(z.trim(), z.minLength(1), z.maxLength(200));
const Timestamp = z.string().check(z.describe("ISO 8601 timestamp"));
/** A tenant named by slug or id in a query or body (admin keys only may name another tenant). */
export const TenantRef = z
  .string()
  .check(z.minLength(1), z.maxLength(63), z.describe("tenant slug or id (admin keys only)"));

export const TenantCreate = z.object({
  slug: TenantSlug,
  name: Name,
  /** Mint the tenant's first key with this role (never admin: admin reaches every tenant). */
  initial_key_role: z._default(z.enum(["operator", "agent", "viewer", "none"]), "operator"),
});
export type TenantCreate = z.output<typeof TenantCreate>;

export const Tenant = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(["active", "suspended"]),
  created_at: Timestamp,
});
export type Tenant = z.infer<typeof Tenant>;

export const KeyCreate = z.object({
  role: Role,
  name: z._default(z.string().check(z.trim(), z.maxLength(200)), ""),
  /** Admin only: create the key in another tenant (by id or slug). */
  tenant: z.optional(TenantRef),
  expires_in_days: z.optional(z.int().check(z.minimum(1), z.maximum(3650))),
});
export type KeyCreate = z.input<typeof KeyCreate>;

export const ApiKey = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  name: z.string(),
  role: Role,
  prefix: z.string().check(z.describe("aos_ and the first 12 characters of the key: enough to recognise it")),
  created_at: Timestamp,
  expires_at: z.nullable(Timestamp),
  last_used_at: z.nullable(Timestamp),
  revoked_at: z.nullable(Timestamp),
});
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedKey = z.extend(ApiKey, {
  key: z.string().check(z.describe("The API key. Shown once: only its SHA-256 is stored.")),
});
export type CreatedKey = z.infer<typeof CreatedKey>;

export const TenantCreated = z.extend(Tenant, { key: z.nullable(CreatedKey) });

export const KeyListQuery = z.extend(PageQuery, {
  tenant: z.optional(TenantRef),
  include_revoked: z.pipe(
    z._default(z.enum(["true", "false"]), "false"),
    z.transform((v) => v === "true"),
  ),
});
export type KeyListQuery = z.output<typeof KeyListQuery>;

export const TenantListQuery = PageQuery;

export const KeyIdPath = z.object({ id: z.uuid() });

export const KeyRevokeQuery = z.object({ tenant: z.optional(TenantRef) });

/** The reply shape of a keyset-paginated listing (moved to platform; re-exported for handlers). */
export { page } from "../platform/pagination.ts";
