/**
 * The tenancy domain's SQL. Rows come back in the API's wire shape (snake_case, as the HTTP
 * API is), so replies need no mapping.
 */
import { isoUtc } from "../platform/db/iso.ts";
import { statement } from "../platform/db/statement.ts";

const keyColumns = `k.id, k.tenant_id, k.name, k.role, 'aos_' || k.prefix as prefix, k.created_at, k.expires_at,
  k.last_used_at, k.revoked_at`;
export const insertTenant = `insert into tenants (slug, name) values ($1, $2)
    on conflict (slug) do nothing
    returning id, slug, name, status, created_at`;

export const tenantByRef = `select id, slug, name, status, created_at from tenants
    where slug = $1 or (CAST(id AS text) = $1)`;

/** `page_at`: created_at with its microseconds, the cursor's key (a Date would drop them). */
export const listTenants = `select id, slug, name, status, created_at, ${isoUtc("created_at")} as page_at from tenants
    where (CAST($1 AS timestamptz) is null or (created_at, id) < (CAST($1 AS timestamptz), CAST($2 AS uuid)))
    order by created_at desc, id desc limit $3`;

export const insertKey = `insert into api_keys (tenant_id, name, role, prefix, key_hash, created_by, expires_at)
    values ($1, $2, $3, $4, $5, $6, $7)
    returning id, tenant_id, name, role, 'aos_' || prefix as prefix, created_at, expires_at, last_used_at, revoked_at`;

/** $6: the roles the caller may see (its own and those below it). */
export const listKeys = /* @__PURE__ */ statement(
  () => `select ${keyColumns}, ${isoUtc("k.created_at")} as page_at from api_keys k
    where k.tenant_id = $1 and (CAST($2 AS boolean) or k.revoked_at is null)
      and (CAST($3 AS timestamptz) is null or (k.created_at, k.id) < (CAST($3 AS timestamptz), CAST($4 AS uuid)))
      and k.role = any(CAST($6 AS text[]))
    order by k.created_at desc, k.id desc limit $5`,
);

/**
 * Tenant-scoped: a key of another tenant is "not found", never "forbidden"; so is a key above
 * the caller's role ($3: the roles it may touch).
 */
/** `newly_revoked`: this call revoked it (false: it was revoked before, and stays as it was). */
export const revokeKey = /* @__PURE__ */ statement(
  () => `with b as (
      select id, revoked_at from api_keys
      where id = $1 and tenant_id = $2 and role = any(CAST($3 AS text[]))
      for update
    )
    update api_keys k set revoked_at = coalesce(k.revoked_at, now())
    from b where k.id = b.id
    returning ${keyColumns}, b.revoked_at is null as newly_revoked`,
);

export const keyOwner = "select tenant_id from api_keys where id = $1";

export const keyForAuth = `select k.id, k.tenant_id as "tenantId", k.role, k.key_hash as "keyHash", k.expires_at as "expiresAt",
      k.revoked_at as "revokedAt", t.status as "tenantStatus"
    from api_keys k join tenants t on t.id = k.tenant_id
    where k.prefix = $1`;

export const touchKeys = `update api_keys k set last_used_at = greatest(coalesce(k.last_used_at, '-infinity'), u.used_at)
    from unnest(CAST($1 AS uuid[]), CAST($2 AS timestamptz[])) as u(id, used_at)
    where k.id = u.id`;

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
  status: "active" | "suspended";
  created_at: Date;
}

export interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  role: "admin" | "operator" | "agent" | "viewer";
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface KeyAuthRow {
  id: string;
  tenantId: string;
  role: KeyRow["role"];
  keyHash: Buffer;
  expiresAt: Date | null;
  revokedAt: Date | null;
  tenantStatus: "active" | "suspended";
}
