/** Cross-tenant cases of the circuit breaker routes (see ../cross-tenant.test.ts). */
import { randomBytes, randomUUID } from "node:crypto";
import { expect } from "vitest";
import { withContext } from "../../../core/context.ts";
import { query } from "../../../core/platform/db/index.ts";
import { acquire, breakerKey, fail } from "../../../core/skills/breaker.ts";
import { UpstreamError } from "../../../core/skills/errors.ts";
import { invoke } from "../../events/index.ts";
import type { Cases, Fixture } from "./fixture.ts";

const tag = () => randomBytes(4).toString("hex");

/** Open tenant `t`'s own breaker of `target` (5 failures of its calls). */
async function openOwnBreaker(t: Fixture["a"], target: string): Promise<void> {
  const key = breakerKey("tenant", target, t.tenant.id);
  const actor = { type: "key" as const, keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" as const };
  await withContext({ requestId: randomUUID(), correlationId: randomUUID(), actor }, async () => {
    for (let i = 0; i < 5; i++) await fail(await acquire(key), new UpstreamError(target, "down", { retryable: true }));
  });
}

async function stateOf(tenantId: string, target: string) {
  const { rows } = await query<{ state: string; failure_count: number }>(
    "select state, failure_count from circuit_breaker_state where tenant_id = $1 and target = $2",
    [tenantId, target],
  );
  return rows[0];
}

async function resetsRecorded(tenantId: string, target: string): Promise<number> {
  const { rows } = await query<{ n: number }>(
    `select count(*)::int as n from status_history
      where tenant_id = $1 and entity_type = 'circuit_breaker' and entity_id = $2 and reason like 'reset by%'`,
    [tenantId, target],
  );
  return rows[0]?.n ?? 0;
}

export const breakerCases: Cases = {
  // B's webhook host is B's business: neither the row nor the host's name reaches A.
  "GET /api/v1/breakers": async ({ a, b }) => {
    const bTarget = `webhook:b-private-${tag()}.example`;
    await openOwnBreaker(b, bTarget);
    for (const key of [a.keys.viewer.key, a.keys.operator.key, a.keys.agent.key]) {
      for (const query of [{}, { state: "OPEN" }, { tenant: a.tenant.slug }] as Record<string, string>[]) {
        const res = await invoke("GET", "/api/v1/breakers", { key, query });
        expect(res.status).toBe(200);
        expect(
          res.body.data.every((r: { tenant_id: string | null }) => r.tenant_id === null || r.tenant_id === a.tenant.id),
        ).toBe(true);
        expect(res.text).not.toContain(bTarget);
        expect(res.text).not.toContain(b.tenant.id);
      }
      for (const tenant of [b.tenant.slug, b.tenant.id]) {
        const res = await invoke("GET", "/api/v1/breakers", { key, query: { tenant } });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("auth.cross_tenant");
        expect(res.text).not.toContain(bTarget);
      }
    }
  },

  // An operator of A may reset A's own breakers only; viewers and agents none; an admin of A
  // resetting A's breaker of a target never touches B's of the same target.
  "POST /api/v1/breakers/{target}/reset": async ({ a, b }) => {
    const target = `webhook:same-host-${tag()}.example`;
    await openOwnBreaker(a, target);
    await openOwnBreaker(b, target);
    const path = `/api/v1/breakers/${encodeURIComponent(target)}/reset`;

    for (const key of [a.keys.viewer.key, a.keys.agent.key])
      for (const tenant of [a.tenant.slug, b.tenant.slug]) {
        const res = await invoke("POST", path, { key, body: { tenant } });
        expect(res.status).toBe(403);
      }
    const operatorOnB = await invoke("POST", path, { key: a.keys.operator.key, body: { tenant: b.tenant.slug } });
    expect(operatorOnB.status).toBe(403);
    expect(operatorOnB.body.error.code).toBe("auth.cross_tenant");
    expect(await stateOf(b.tenant.id, target)).toEqual({ state: "OPEN", failure_count: 5 });
    expect((await stateOf(a.tenant.id, target))?.state).toBe("OPEN");

    // No tenant= means the shared breaker of the target: there is none, and B's stays as it was.
    const shared = await invoke("POST", path, { key: a.keys.admin.key, body: {} });
    expect(shared.status).toBe(404);
    expect(shared.text).not.toContain(b.tenant.id);

    const res = await invoke("POST", path, { key: a.keys.admin.key, body: { tenant: a.tenant.slug } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ target, tenant_id: a.tenant.id, state: "CLOSED", failure_count: 0 });
    expect(res.text).not.toContain(b.tenant.id);
    expect(await stateOf(a.tenant.id, target)).toEqual({ state: "CLOSED", failure_count: 0 });
    expect(await stateOf(b.tenant.id, target)).toEqual({ state: "OPEN", failure_count: 5 });
    expect(await resetsRecorded(b.tenant.id, target)).toBe(0);
    expect(await resetsRecorded(a.tenant.id, target)).toBe(1);
  },
};
