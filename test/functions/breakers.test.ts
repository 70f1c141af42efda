/**
 * The breaker endpoints through their real handlers: the listing (the tenant's own breakers and
 * the shared ones, the state filter, refusals) and the admin reset (recorded in status_history).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { safeParse } from "zod/mini";
import { withContext } from "../../core/context.ts";
import { query } from "../../core/platform/db/index.ts";
import { acquire, breakerKey, fail, succeed } from "../../core/skills/breaker.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import { BreakerList } from "../../core/skills/schema.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { invoke } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
type Info = { target: string; tenant_id: string | null; state: string; failure_count: number };
const LIST = "/api/v1/breakers";
const resetPath = (target: string) => `/api/v1/breakers/${encodeURIComponent(target)}/reset`;
const tag = () => randomBytes(3).toString("hex");
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** `n` failures of a breaker, reported by calls of tenant `t` (5 open it). */
async function failures(t: Tenant, scope: "global" | "tenant", target: string, n: number): Promise<void> {
  const key = breakerKey(scope, target, t.tenant.id);
  await withContext(
    {
      requestId: randomUUID(),
      correlationId: randomUUID(),
      actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
    },
    async () => {
      for (let i = 0; i < n; i++)
        await fail(await acquire(key), new UpstreamError(target, "upstream answered 502", { retryable: true }));
    },
  );
}

const targets = (res: { body: { data: Info[] } }) => res.body.data.map((r) => r.target);

let t: Tenant;
let other: Tenant;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  other = await makeTenantWithKeys();
});

describe("GET /api/v1/breakers", () => {
  it("lists the tenant's own breakers and the shared ones, most recently changed first, in wire shape", async () => {
    const own = `webhook:own-${tag()}.example`;
    const shared = `shared-${tag()}`;
    const theirs = `webhook:theirs-${tag()}.example`;
    await failures(t, "tenant", own, 2);
    await failures(t, "global", shared, 5);
    await failures(other, "tenant", theirs, 5);

    const res = await invoke("GET", LIST, { key: t.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(safeParse(BreakerList, res.body).success).toBe(true);
    const seen = targets(res);
    expect(seen).toContain(own);
    expect(seen).toContain(shared);
    expect(seen).not.toContain(theirs);
    expect(seen.indexOf(shared)).toBeLessThan(seen.indexOf(own));
    for (const r of res.body.data) expect([null, t.tenant.id]).toContain(r.tenant_id);
    const sharedRow = res.body.data.find((r: Info) => r.target === shared);
    expect(sharedRow).toMatchObject({
      tenant_id: null,
      state: "OPEN",
      failure_count: 5,
      last_error: "skills.upstream_error: upstream answered 502",
    });
    for (const f of ["last_failure_at", "opened_at", "cooldown_until", "updated_at"]) expect(sharedRow[f]).toMatch(ISO);
    expect(res.body.data.find((r: Info) => r.target === own)).toMatchObject({
      tenant_id: t.tenant.id,
      state: "CLOSED",
      failure_count: 2,
      opened_at: null,
      cooldown_until: null,
    });
    // The other tenant sees its own breaker and the shared one, not ours.
    const theirList = targets(await invoke("GET", LIST, { key: other.keys.viewer.key }));
    expect(theirList).toContain(theirs);
    expect(theirList).toContain(shared);
    expect(theirList).not.toContain(own);
  });

  it("filters by state", async () => {
    const open = `webhook:open-${tag()}.example`;
    const closed = `webhook:closed-${tag()}.example`;
    await failures(t, "tenant", open, 5);
    await failures(t, "tenant", closed, 1);
    const res = await invoke("GET", LIST, { key: t.keys.viewer.key, query: { state: "OPEN" } });
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    expect(res.body.data.every((r: Info) => r.state === "OPEN")).toBe(true);
    expect(targets(res)).toContain(open);
    expect(targets(res)).not.toContain(closed);
    const closedOnly = await invoke("GET", LIST, { key: t.keys.viewer.key, query: { state: "CLOSED" } });
    expect(targets(closedOnly)).toContain(closed);
    expect(targets(closedOnly)).not.toContain(open);
  });

  it("lets an admin list another tenant's breakers by slug", async () => {
    const theirs = `webhook:admin-view-${tag()}.example`;
    await failures(other, "tenant", theirs, 1);
    const res = await invoke("GET", LIST, { key: t.keys.admin.key, query: { tenant: other.tenant.slug } });
    expect(res.status).toBe(200);
    expect(targets(res)).toContain(theirs);
  });

  it("refuses an unknown query parameter, an unknown state and a missing key", async () => {
    const bad = await invoke("GET", LIST, { key: t.keys.viewer.key, query: { colour: "red" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toContain("query.colour");
    const state = await invoke("GET", LIST, { key: t.keys.viewer.key, query: { state: "BROKEN" } });
    expect(state.status).toBe(400);
    expect(state.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["query.state"]);
    expect((await invoke("GET", LIST)).status).toBe(401);
  });
});

describe("POST /api/v1/breakers/{target}/reset", () => {
  async function history(tenantId: string, target: string) {
    const { rows } = await query<{ old_status: string; new_status: string; reason: string; actor: string }>(
      `select old_status, new_status, reason, actor from status_history
        where tenant_id = $1 and entity_type = 'circuit_breaker' and entity_id = $2 order by id`,
      [tenantId, target],
    );
    return rows;
  }

  it("closes a shared breaker for an admin, recorded in status_history under the platform tenant", async () => {
    const target = `shared-reset-${tag()}`;
    await failures(t, "global", target, 5);
    const res = await invoke("POST", resetPath(target), { key: t.keys.admin.key, body: { reason: "Slack is back" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      target,
      tenant_id: null,
      state: "CLOSED",
      failure_count: 0,
      opened_at: null,
      cooldown_until: null,
    });
    expect((await history(SYSTEM_TENANT_ID, target)).at(-1)).toEqual({
      old_status: "OPEN",
      new_status: "CLOSED",
      reason: "reset by an admin: Slack is back",
      actor: `key:${t.keys.admin.id}`,
    });
    // Closed for real: the next call goes through.
    const key = breakerKey("global", target, t.tenant.id);
    const permit = await withContext(
      { requestId: "r", correlationId: "c", actor: { type: "system", name: "test" } },
      async () => {
        const p = await acquire(key);
        await succeed(p);
        return p;
      },
    );
    expect(permit.probeId).toBeNull();
  });

  it("closes a tenant-scoped breaker named with tenant=, with a body optional", async () => {
    const target = `webhook:reset-${tag()}.example`;
    await failures(t, "tenant", target, 5);
    const res = await invoke("POST", resetPath(target), { key: t.keys.admin.key, body: { tenant: t.tenant.slug } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ target, tenant_id: t.tenant.id, state: "CLOSED", failure_count: 0 });
    expect((await history(t.tenant.id, target)).map((r) => `${r.old_status}->${r.new_status}`)).toEqual([
      "CLOSED->OPEN",
      "OPEN->CLOSED",
    ]);
    // Without tenant= the shared breaker of that target is meant, and there is none.
    const shared = await invoke("POST", resetPath(target), { key: t.keys.admin.key });
    expect(shared.status).toBe(404);
  });

  it("refuses a shared breaker to an operator, and any to a viewer and an agent, with 403", async () => {
    const target = `shared-refuse-${tag()}`;
    await failures(t, "global", target, 5);
    for (const key of [t.keys.operator.key, t.keys.viewer.key, t.keys.agent.key]) {
      const res = await invoke("POST", resetPath(target), { key, body: {} });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.forbidden");
    }
    const { rows } = await query("select state from circuit_breaker_state where target = $1", [target]);
    expect(rows).toEqual([{ state: "OPEN" }]);
  });

  it("lets an operator reset its own tenant's breaker, never another tenant's", async () => {
    const target = `webhook:op-reset-${tag()}.example`;
    await failures(t, "tenant", target, 5);
    await failures(other, "tenant", target, 5);
    // Another tenant's, by slug or id: refused without saying whether it exists.
    for (const ref of [other.tenant.slug, other.tenant.id]) {
      const res = await invoke("POST", resetPath(target), { key: t.keys.operator.key, body: { tenant: ref } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.cross_tenant");
    }
    const own = await invoke("POST", resetPath(target), {
      key: t.keys.operator.key,
      body: { tenant: t.tenant.slug, reason: "receiver fixed" },
    });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ target, tenant_id: t.tenant.id, state: "CLOSED" });
    expect((await history(t.tenant.id, target)).at(-1)).toEqual({
      old_status: "OPEN",
      new_status: "CLOSED",
      reason: "reset by an operator: receiver fixed",
      actor: `key:${t.keys.operator.id}`,
    });
    const { rows } = await query("select state from circuit_breaker_state where target = $1 and tenant_id = $2", [
      target,
      other.tenant.id,
    ]);
    expect(rows).toEqual([{ state: "OPEN" }]);
  });

  it("answers 404 skills.breaker_not_found for an unknown breaker, 404 for an unknown tenant, 400 for a bad body", async () => {
    const res = await invoke("POST", resetPath(`nowhere-${tag()}`), { key: t.keys.admin.key, body: {} });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("skills.breaker_not_found");
    const tenant = await invoke("POST", resetPath("slack"), { key: t.keys.admin.key, body: { tenant: "no-such-t" } });
    expect(tenant.status).toBe(404);
    const bad = await invoke("POST", resetPath("slack"), { key: t.keys.admin.key, body: { force: true } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toContain("body.force");
  });
});
