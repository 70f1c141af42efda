/**
 * The skills routes as a client sees them: the catalogue with JSON Schemas, validation of the
 * execute call naming each bad field, roles, and the OpenAPI description of every skill.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildOpenApi } from "../../cli/openapi.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  // Direct executions are charged: enough credits that no test here meets a 402.
  await grantCredits(t.tenant.id, 1_000_000);
});

const names = ["kv_store", "slack_send", "webhook_send", "voyage_embed"];

describe("GET /api/v1/skills", () => {
  it("lists every skill with the JSON Schemas of its input and output, flags and cost", async () => {
    const res = await invoke("GET", "/api/v1/skills", { key: t.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { name: string }) => s.name).sort()).toEqual([...names].sort());
    const byName = Object.fromEntries(res.body.data.map((s: { name: string }) => [s.name, s]));
    expect(byName.kv_store).toMatchObject({
      version: "1.0.0",
      deterministic: false,
      side_effects: true,
      breaker_scope: null,
      cost: { base_credits: 1, per_unit: null },
    });
    expect(byName.slack_send.breaker_scope).toBe("global");
    expect(byName.webhook_send.breaker_scope).toBe("tenant");
    expect(byName.voyage_embed).toMatchObject({
      deterministic: true,
      side_effects: false,
      cost: { per_unit: { unit: "input", credits: 0.1 } },
    });
    // Real JSON Schemas: the kv_store ops are a union, webhook_send requires url.
    expect(JSON.stringify(byName.kv_store.input_schema)).toContain('"mget"');
    expect(byName.webhook_send.input_schema.required).toEqual(expect.arrayContaining(["url"]));
    expect(byName.voyage_embed.output_schema.properties.embeddings.type).toBe("array");
  });

  it("describes one skill, and 404s an unknown one", async () => {
    const one = await invoke("GET", "/api/v1/skills/webhook_send", { key: t.keys.viewer.key });
    expect(one.status).toBe(200);
    expect(one.body.name).toBe("webhook_send");
    const none = await invoke("GET", "/api/v1/skills/no_such_skill", { key: t.keys.viewer.key });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe("skills.not_found");
  });

  it("needs a key", async () => {
    expect((await invoke("GET", "/api/v1/skills")).status).toBe(401);
  });
});

describe("POST /api/v1/skills/{name}/execute: validation and roles", () => {
  const exec = (name: string, body: unknown, key = t.keys.agent.key) =>
    invoke("POST", `/api/v1/skills/${name}/execute`, { key, body });

  it("names every bad field of the args", async () => {
    const res = await exec("kv_store", { args: { op: "set", key: "", ttl_s: -1, extra: 1 } });
    expect(res.status).toBe(400);
    const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["body.args.key", "body.args.ttl_s", "body.args.extra"]));
    const badOp = await exec("kv_store", { args: { op: "explode", key: "k" } });
    expect(badOp.status).toBe(400);
    expect(badOp.body.error.details.fields.map((f: { field: string }) => f.field)).toContain("body.args.op");
  });

  it("refuses an unknown body field, a bad idempotency key and a missing args", async () => {
    const res = await exec("kv_store", { args: { op: "get", key: "k" }, idempotency_key: "has space", x: 1 });
    expect(res.status).toBe(400);
    const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["body.idempotency_key", "body.x"]));
    const missing = await exec("webhook_send", {});
    expect(missing.status).toBe(400);
  });

  it("404s an unknown skill before looking at its args", async () => {
    const res = await exec("no_such_skill", { args: {} });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("skills.not_found");
  });

  it("is for agent keys and above: a viewer is refused", async () => {
    const res = await exec("kv_store", { args: { op: "get", key: "k" } }, t.keys.viewer.key);
    expect(res.status).toBe(403);
  });
});

describe("OpenAPI", () => {
  it("documents each skill's args and result, and the execute route's errors", async () => {
    const doc = (await buildOpenApi()) as {
      components: { schemas: Record<string, { description?: string }> };
      paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody: unknown }>>;
    };
    for (const n of names) {
      expect(doc.components.schemas[`SkillArgs_${n}`]?.description).toContain(n);
      expect(doc.components.schemas[`SkillResult_${n}`]).toBeDefined();
    }
    const op = doc.paths["/api/v1/skills/{name}/execute"]?.post;
    expect(Object.keys(op?.responses ?? {})).toEqual(
      expect.arrayContaining(["200", "400", "409", "502", "503", "504"]),
    );
    expect(JSON.stringify(op?.requestBody)).toContain("#/components/schemas/SkillArgs_kv_store");
  });
});
