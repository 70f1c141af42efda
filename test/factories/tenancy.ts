/** Row factories for tenancy: `makeTenant()`, `makeKey({ role })`. */
import { randomBytes } from "node:crypto";
import { withContext } from "../../core/context.ts";
import type { Role, TenantRow } from "../../core/tenancy/index.ts";
import * as Tenancy from "../../core/tenancy/index.ts";

const asSystem = <T>(fn: () => Promise<T>) =>
  withContext({ requestId: "factory", correlationId: "factory", actor: { type: "system", name: "test" } }, fn);

export async function makeTenant(slug = `t-${randomBytes(4).toString("hex")}`): Promise<TenantRow> {
  const t = await asSystem(() => Tenancy.createTenant({ slug, name: `Tenant ${slug}`, initial_key_role: "none" }));
  const { key: _none, ...tenant } = t;
  return tenant;
}

export async function makeKey(o: {
  tenantId: string;
  role: Role;
  expiresInDays?: number;
}): Promise<{ key: string; id: string }> {
  const k = await asSystem(() =>
    Tenancy.createKeyFor(o.tenantId, { role: o.role, name: `${o.role} key`, expires_in_days: o.expiresInDays }),
  );
  return { key: k.key, id: k.id };
}

/** A tenant with one key of each role. */
export async function makeTenantWithKeys(slug?: string) {
  const tenant = await makeTenant(slug);
  const keys = {
    admin: await makeKey({ tenantId: tenant.id, role: "admin" }),
    operator: await makeKey({ tenantId: tenant.id, role: "operator" }),
    agent: await makeKey({ tenantId: tenant.id, role: "agent" }),
    viewer: await makeKey({ tenantId: tenant.id, role: "viewer" }),
  };
  return { tenant, keys };
}

// The key with its last character changed to a different one. Replacing it with a fixed letter would
// leave the key valid whenever it already ended in that letter (one run in 64).
export function tampered(key: string): string {
  return `${key.slice(0, -1)}${key.endsWith("X") ? "Y" : "X"}`;
}
