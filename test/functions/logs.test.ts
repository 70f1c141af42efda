import { afterEach, describe, expect, it } from "vitest";
import { setConfig } from "../../core/config.ts";
import { log, setLogSink } from "../../core/platform/logger.ts";
import { invoke } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

const lines: string[] = [];
const restore = setLogSink((l) => lines.push(l));
afterEach(() => {
  lines.length = 0;
});

describe("logs", () => {
  it("are JSON lines with request id and tenant, and never contain a key", async () => {
    setConfig({ LOG_LEVEL: "debug" });
    const t = await makeTenantWithKeys();
    const created = await invoke("POST", "/api/v1/keys", { key: t.keys.operator.key, body: { role: "agent" } });
    await invoke("GET", "/api/v1/keys", { key: `${t.keys.operator.key.slice(0, -2)}zz` });
    log.info("explicit", {
      authorization: `Bearer ${t.keys.admin.key}`,
      nested: { apiKey: "x", note: `key ${t.keys.agent.key}` },
    });
    const all = lines.join("\n");
    expect(lines.length).toBeGreaterThan(2);
    for (const k of [...Object.values(t.keys).map((k) => k.key), created.body.key]) expect(all).not.toContain(k);
    const request = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.status === 201);
    expect(request).toMatchObject({
      level: "info",
      route: "POST /api/v1/keys",
      tenantId: t.tenant.id,
      requestId: expect.any(String),
    });
    const explicit = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "explicit");
    expect(explicit.authorization).toBe("[redacted]");
    expect(explicit.nested).toEqual({ apiKey: "[redacted]", note: "key aos_***" });
    setLogSink(restore);
  });
});
