import { query, withTx } from "../platform/db/index.ts";
import * as History from "../platform/history/index.ts";
import { cursorPart, decodeCursor, type Page, pageWithoutKey, toPage } from "../platform/pagination.ts";
import { TenantExistsError } from "./errors.ts";
import { emitAfterCommit } from "./events.ts";
import { createKeyFor } from "./keys.ts";
import type { CreatedKey, TenantCreate } from "./schema.ts";
import type { TenantRow } from "./tenancy.sql.ts";
import * as sql from "./tenancy.sql.ts";

/**
 * Create a tenant and, unless `initial_key_role` is "none", its first key, in one transaction,
 * each with its status_history row (entity `tenant`, null -> active).
 * @example await Tenancy.createTenant({ slug: "acme", name: "Acme", initial_key_role: "operator" })
 */
export async function createTenant(input: TenantCreate): Promise<TenantRow & { key: CreatedKey | null }> {
  return withTx(async () => {
    const { rows } = await query<TenantRow>(sql.insertTenant, [input.slug, input.name]);
    const tenant = rows[0];
    if (!tenant) throw new TenantExistsError(input.slug);
    await History.record({
      tenant_id: tenant.id,
      entity_type: "tenant",
      entity_id: tenant.id,
      old_status: null,
      new_status: tenant.status,
      metadata: { slug: tenant.slug },
    });
    emitAfterCommit({ type: "tenant.created", tenantId: tenant.id, slug: tenant.slug });
    const key =
      input.initial_key_role === "none"
        ? null
        : await createKeyFor(tenant.id, { role: input.initial_key_role, name: "initial key" });
    return { ...tenant, key };
  });
}

export async function listTenants(q: { limit: number; cursor?: string | undefined }): Promise<Page<TenantRow>> {
  const after = decodeCursor(q.cursor, [cursorPart.anyTime, cursorPart.uuid]);
  const { rows } = await query<TenantRow & { page_at: string }>(sql.listTenants, [
    after?.[0] ?? null,
    after?.[1] ?? null,
    q.limit + 1,
  ]);
  return pageWithoutKey(toPage(rows, q.limit, (r) => [r.page_at, r.id]));
}
