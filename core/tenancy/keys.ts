import { createHash, randomBytes } from "node:crypto";
import { isAdmin, roles, useActor } from "../context.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as History from "../platform/history/index.ts";
import { cursorPart, decodeCursor, type Page, pageWithoutKey, toPage } from "../platform/pagination.ts";
import { redis } from "../platform/redis.ts";
import { KeyNotFoundError, RoleNotGrantableError } from "./errors.ts";
import { emitAfterCommit } from "./events.ts";
import { resolveTenant } from "./resolve.ts";
import type { CreatedKey, KeyCreate, KeyListQuery, Role } from "./schema.ts";
import type { KeyRow } from "./tenancy.sql.ts";
import * as sql from "./tenancy.sql.ts";

/** `aos_` + 32 base64url characters (192 random bits); the first 12 are the lookup prefix. */
export const KEY_PATTERN = /^aos_([A-Za-z0-9_-]{12})[A-Za-z0-9_-]{20}$/;
const PREFIX_LEN = 12;

export const hashKey = (key: string): Buffer => createHash("sha256").update(key).digest();
export const authCacheKey = (prefix: string) => `auth:${prefix}`;

function generateKey(): { key: string; prefix: string } {
  const secret = randomBytes(24).toString("base64url");
  return { key: `aos_${secret}`, prefix: secret.slice(0, PREFIX_LEN) };
}

const toCreated = (row: KeyRow, key: string): CreatedKey => ({
  ...row,
  created_at: row.created_at.toISOString(),
  expires_at: row.expires_at?.toISOString() ?? null,
  last_used_at: null,
  revoked_at: null,
  key,
});

/**
 * Insert a key for a tenant already resolved and authorised (used by createKey, createTenant, the
 * CLI), with its status_history row (entity `api_key`, null -> active) in the same transaction.
 */
export async function createKeyFor(
  tenantId: string,
  input: { role: Role; name?: string; expires_in_days?: number | undefined },
): Promise<CreatedKey> {
  const actor = useActor();
  const createdBy = actor.type === "key" ? actor.keyId : null;
  const expiresAt = input.expires_in_days ? new Date(Date.now() + input.expires_in_days * 86_400_000) : null;
  // The 12-character prefix carries 72 random bits; a collision would surface as a 409 from its
  // unique index (inside a transaction a retry could not run anyway: the statement aborted it).
  const { key, prefix } = generateKey();
  return withTx(async () => {
    const { rows } = await query<KeyRow>(sql.insertKey, [
      tenantId,
      input.name ?? "",
      input.role,
      prefix,
      hashKey(key),
      createdBy,
      expiresAt,
    ]);
    const row = rows[0] as KeyRow;
    await History.record({
      tenant_id: tenantId,
      entity_type: "api_key",
      entity_id: row.id,
      old_status: null,
      new_status: "active",
      metadata: { role: row.role, prefix: row.prefix, expires_at: row.expires_at?.toISOString() ?? null },
    });
    emitAfterCommit({ type: "key.created", tenantId, keyId: row.id, role: row.role });
    return toCreated(row, key);
  });
}

/**
 * Create an API key in the caller's tenant (or, for an admin, the tenant it names).
 * Only an admin may mint an admin key. The key is returned once; only its SHA-256 is kept.
 */
export async function createKey(input: KeyCreate): Promise<CreatedKey> {
  const role = input.role;
  if (role === "admin" && !isAdmin()) throw new RoleNotGrantableError(role);
  return withTx(async () => {
    const tenantId = await resolveTenant(input.tenant);
    return createKeyFor(tenantId, { role, name: input.name ?? "", expires_in_days: input.expires_in_days });
  });
}

/**
 * The roles whose keys the caller may list and revoke: its own and those below it (`roles` runs
 * from admin down to viewer). An operator never sees nor touches an admin key, even one that
 * lives in its tenant (an admin key acts for every tenant). Admins and system actors: all.
 *
 * @example
 *   // as an operator key
 *   visibleRoles(); // ["operator", "agent", "viewer"]
 */
export function visibleRoles(): Role[] {
  const actor = useActor();
  if (actor.type === "system") return [...roles];
  if (actor.type !== "key") return [];
  return roles.slice(roles.indexOf(actor.role));
}

export async function listKeys(q: KeyListQuery): Promise<Page<KeyRow>> {
  const tenantId = await resolveTenant(q.tenant);
  const after = decodeCursor(q.cursor, [cursorPart.anyTime, cursorPart.uuid]);
  const { rows } = await query<KeyRow & { page_at: string }>(sql.listKeys, [
    tenantId,
    q.include_revoked,
    after?.[0] ?? null,
    after?.[1] ?? null,
    q.limit + 1,
    visibleRoles(),
  ]);
  return pageWithoutKey(toPage(rows, q.limit, (r) => [r.page_at, r.id]));
}

/**
 * Revoke a key of the caller's tenant (an admin: of any tenant) whose role is not above the
 * caller's (another is "not found", as another tenant's is). Revoking twice answers the same
 * row; the revocation is recorded in status_history once (entity `api_key`, active -> revoked). The auth cache entry is evicted after commit, and a `key.revoked` event evicts it again
 * from the Events consumer in case Redis was unreachable at that moment.
 */
export async function revokeKey(id: string, tenant?: string): Promise<KeyRow> {
  return withTx(async () => {
    const tenantId = isAdmin() && tenant === undefined ? await ownerOf(id) : await resolveTenant(tenant);
    const { rows } = await query<KeyRow & { newly_revoked: boolean }>(sql.revokeKey, [id, tenantId, visibleRoles()]);
    const found = rows[0];
    if (!found) throw new KeyNotFoundError(id);
    const { newly_revoked, ...row } = found;
    if (newly_revoked)
      await History.record({
        tenant_id: tenantId,
        entity_type: "api_key",
        entity_id: id,
        old_status: "active",
        new_status: "revoked",
        metadata: { role: row.role, prefix: row.prefix },
      });
    const prefix = row.prefix.slice("aos_".length);
    afterCommit(() => evictKeyCache(prefix));
    emitAfterCommit({ type: "key.revoked", tenantId, keyId: id, prefix });
    return row;
  });
}

async function ownerOf(id: string): Promise<string> {
  const { rows } = await query<{ tenant_id: string }>(sql.keyOwner, [id]);
  if (!rows[0]) throw new KeyNotFoundError(id);
  return rows[0].tenant_id;
}

export async function evictKeyCache(prefix: string): Promise<void> {
  await redis().del(authCacheKey(prefix));
}
