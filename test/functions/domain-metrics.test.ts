/**
 * The metrics the monitoring rules need, recorded where the fact is known, through the real
 * handlers: credit grants and refusals (core/credits) and refused API keys by reason
 * (core/tenancy). Each is checked counting what it must and nothing else.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { invoke } from "../events/index.ts";
import { makeKey, makeTenantWithKeys, tampered } from "../factories/tenancy.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  t = await makeTenantWithKeys();
});

const spawnOne = (key: string) =>
  invoke("POST", "/api/v1/jobs", {
    key,
    body: { task: "external", items: [{ input: { n: 1 } }], credits_per_item: 5 },
  });

describe("credits", () => {
  it("counts a committed grant and its credits; a refused grant counts nothing", async () => {
    const [grants, granted] = [
      await metricValue("aos_credit_grants_total"),
      await metricValue("aos_credit_granted_total"),
    ];
    const ok = await invoke("POST", "/api/v1/credits/grants", {
      key: t.keys.admin.key,
      body: { amount: 7.5, reason: "top-up" },
    });
    expect(ok.status).toBe(201);
    expect(await metricValue("aos_credit_grants_total")).toBe(grants + 1);
    expect(await metricValue("aos_credit_granted_total")).toBe(granted + 7.5);

    const badBody = await invoke("POST", "/api/v1/credits/grants", { key: t.keys.admin.key, body: { amount: -1 } });
    expect(badBody.status).toBe(400);
    const notAdmin = await invoke("POST", "/api/v1/credits/grants", { key: t.keys.operator.key, body: { amount: 1 } });
    expect(notAdmin.status).toBe(403);
    expect(await metricValue("aos_credit_grants_total")).toBe(grants + 1);
    expect(await metricValue("aos_credit_granted_total")).toBe(granted + 7.5);
  });

  it("counts a spawn refused for insufficient credits, not one that reserves", async () => {
    const poor = await makeTenantWithKeys();
    const before = await metricValue('aos_credit_refusals_total{operation="job_spawn"}');
    const refused = await spawnOne(poor.keys.agent.key);
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe("credits.insufficient");
    expect(await metricValue('aos_credit_refusals_total{operation="job_spawn"}')).toBe(before + 1);

    const reserved = await metricValue("credit_reservation_total");
    await invoke("POST", "/api/v1/credits/grants", {
      key: t.keys.admin.key,
      body: { tenant_id: poor.tenant.id, amount: 5, reason: "enough" },
    });
    expect((await spawnOne(poor.keys.agent.key)).status).toBe(201);
    expect(await metricValue('aos_credit_refusals_total{operation="job_spawn"}')).toBe(before + 1);
    expect(await metricValue("credit_reservation_total")).toBe(reserved + 5);
  });
});

describe("tenancy", () => {
  const failures = async () =>
    Object.fromEntries(
      await Promise.all(
        ["invalid", "revoked", "expired", "suspended"].map(
          async (r) => [r, await metricValue(`aos_tenancy_auth_failures_total{reason="${r}"}`)] as const,
        ),
      ),
    );

  it("counts refused keys by reason; an accepted key counts nothing", async () => {
    const before = await failures();
    expect((await invoke("GET", "/api/v1/keys", { key: t.keys.operator.key })).status).toBe(200);
    expect(await failures()).toEqual(before);

    for (const key of ["nope", tampered(t.keys.viewer.key)])
      expect((await invoke("GET", "/api/v1/keys", { key })).status).toBe(401);
    const revoked = await makeKey({ tenantId: t.tenant.id, role: "viewer" });
    await invoke("DELETE", `/api/v1/keys/${revoked.id}`, { key: t.keys.operator.key });
    expect((await invoke("GET", "/api/v1/keys", { key: revoked.key })).status).toBe(401);
    const expired = await makeKey({ tenantId: t.tenant.id, role: "operator", expiresInDays: 1 });
    await query("update api_keys set expires_at = now() - interval '1 second' where id = $1", [expired.id]);
    expect((await invoke("GET", "/api/v1/keys", { key: expired.key })).status).toBe(401);
    const s = await makeTenantWithKeys();
    await query("update tenants set status = 'suspended' where id = $1", [s.tenant.id]);
    expect((await invoke("GET", "/api/v1/keys", { key: s.keys.operator.key })).status).toBe(403);

    expect(await failures()).toEqual({
      invalid: (before.invalid ?? 0) + 2,
      revoked: (before.revoked ?? 0) + 1,
      expired: (before.expired ?? 0) + 1,
      suspended: (before.suspended ?? 0) + 1,
    });
  });
});
