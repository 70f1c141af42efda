import { z } from "zod";
import { PageQuery } from "../platform/pagination.ts";

export const Role = z.enum(["admin", "operator", "agent", "viewer"]);
export type Role = z.infer<typeof Role>;

export const TenantSlug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "lower-case letters, digits and dashes, 1-63 characters, not starting with a dash",
  );

export const TenantCreate = z.object({
  slug: TenantSlug,
  name: z.string().trim().min(1).max(200),
  /** Mint the tenant's first key with this role (never admin: admin reaches every tenant). */
  initial_key_role: z.enum(["operator", "agent", "viewer", "none"]).default("operator"),
});
export type TenantCreate = z.infer<typeof TenantCreate>;

export const Tenant = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(["active", "suspended"]),
  created_at: z.string(),
});
export type Tenant = z.infer<typeof Tenant>;

export const KeyCreate = z.object({
  role: Role,
  name: z.string().trim().max(200).default(""),
  /** Admin only: create the key in another tenant (by id or slug). */
  tenant: z.string().min(1).max(63).optional(),
  expires_in_days: z.number().int().min(1).max(3650).optional(),
});
export type KeyCreate = z.input<typeof KeyCreate>;

export const ApiKey = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  name: z.string(),
  role: Role,
  prefix: z.string().describe("aos_ followed by the first 12 characters of the key: enough to recognise it"),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedKey = ApiKey.extend({
  key: z.string().describe("The API key. Shown once: only its SHA-256 is stored."),
});
export type CreatedKey = z.infer<typeof CreatedKey>;

export const TenantCreated = Tenant.extend({ key: CreatedKey.nullable() });

export const KeyListQuery = PageQuery.extend({
  tenant: z.string().min(1).max(63).optional(),
  include_revoked: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
});
export type KeyListQuery = z.infer<typeof KeyListQuery>;

export const TenantListQuery = PageQuery;

export const KeyIdPath = z.object({ id: z.uuid() });

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() });
