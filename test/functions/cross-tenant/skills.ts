/** Cross-tenant cases of the skills routes (see ../cross-tenant.test.ts). */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { invoke } from "../../events/index.ts";
import { grantCredits } from "../../factories/credits.ts";
import { withConfig } from "../../setup/config-override.ts";
import type { Cases } from "./fixture.ts";

const tag = () => randomBytes(4).toString("hex");
const kv = (key: string, args: Record<string, unknown>, idempotency_key?: string) =>
  invoke("POST", "/api/v1/skills/kv_store/execute", {
    key,
    body: { args, ...(idempotency_key ? { idempotency_key } : {}) },
  });

export const skillCases: Cases = {
  // The catalogue holds no tenant's data: both tenants see the same list.
  "GET /api/v1/skills": async ({ a, b }) => {
    const ra = await invoke("GET", "/api/v1/skills", { key: a.keys.viewer.key });
    const rb = await invoke("GET", "/api/v1/skills", { key: b.keys.viewer.key });
    expect(ra.status).toBe(200);
    expect(ra.body).toEqual(rb.body);
    expect(JSON.stringify(ra.body)).not.toContain(b.tenant.id);
  },

  "GET /api/v1/skills/{name}": async ({ a, b }) => {
    const ra = await invoke("GET", "/api/v1/skills/kv_store", { key: a.keys.viewer.key });
    expect(ra.status).toBe(200);
    expect(JSON.stringify(ra.body)).not.toContain(b.tenant.id);
  },

  // kv_store keys and idempotency keys are per tenant: B's never answer A.
  // A's calls are charged to A, never to B (each is charged to the key's tenant).
  "POST /api/v1/skills/{name}/execute": async ({ a, b, bKey }) => {
    await grantCredits(a.tenant.id, 100);
    await grantCredits(b.tenant.id, 100);
    const bFigures = async () => (await invoke("GET", "/api/v1/credits", { key: b.keys.viewer.key })).body;
    const key = `ct-${tag()}`;
    expect((await kv(bKey.key, { op: "set", key, value: "b-secret" })).status).toBe(200);
    const got = await kv(a.keys.agent.key, { op: "get", key });
    expect(got.status).toBe(200);
    expect(got.body.result).toEqual({ op: "get", value: null, found: false });
    const mget = await kv(a.keys.agent.key, { op: "mget", keys: [key] });
    expect(mget.body.result.values).toEqual([null]);
    const bBefore = await bFigures();
    const aBefore = (await invoke("GET", "/api/v1/credits", { key: a.keys.viewer.key })).body.balance;
    expect((await kv(a.keys.agent.key, { op: "set", key, value: "a-value" })).status).toBe(200);
    expect(await bFigures()).toEqual(bBefore);
    expect((await invoke("GET", "/api/v1/credits", { key: a.keys.viewer.key })).body.balance).toBe(aBefore - 1);
    expect((await kv(bKey.key, { op: "get", key })).body.result.value).toBe("b-secret");

    // The same idempotency key in two tenants names two calls: no replay of B's result, no conflict.
    const idem = `idem-${tag()}`;
    const first = await kv(bKey.key, { op: "incr", key: `${key}-n`, value: 5 }, idem);
    expect(first.body.result.value).toBe(5);
    const other = await kv(a.keys.agent.key, { op: "incr", key: `${key}-n`, value: 7 }, idem);
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ replayed: false, result: { value: 7 } });
    expect(other.body.execution_id).not.toBe(first.body.execution_id);
    expect(JSON.stringify(other.body)).not.toContain(b.tenant.id);
  },

  // Each tenant has its own signing secret, so one tenant cannot sign webhooks as another.
  "GET /api/v1/webhooks/signing_secret": async ({ a, b }) => {
    await withConfig({ WEBHOOK_SIGNING_SECRET: "m".repeat(40) }, async () => {
      const ra = await invoke("GET", "/api/v1/webhooks/signing_secret", { key: a.keys.operator.key });
      const rb = await invoke("GET", "/api/v1/webhooks/signing_secret", { key: b.keys.operator.key });
      expect(ra.status).toBe(200);
      expect(rb.status).toBe(200);
      expect(ra.body.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
      expect(ra.body.secret).not.toBe(rb.body.secret);
      const agent = await invoke("GET", "/api/v1/webhooks/signing_secret", { key: a.keys.agent.key });
      expect(agent.status).toBe(403);
    });
  },
};
