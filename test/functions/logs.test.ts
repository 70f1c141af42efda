import { afterAll, afterEach, describe, expect, it } from "vitest";
import { config, setConfig } from "../../core/config.ts";
import { log, setLogSink } from "../../core/platform/logger.ts";
import { invoke } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { asOwner } from "../setup/db-roles.ts";
import { closedPort } from "../setup/net.ts";

const lines: string[] = [];
const restore = setLogSink((l) => lines.push(l));
afterEach(() => {
  lines.length = 0;
});
afterAll(() => {
  setLogSink(restore);
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
  });

  it("of a 500 keep the cause chain: the database's error under the internal one", async () => {
    setConfig({ LOG_LEVEL: "info" });
    const t = await makeTenantWithKeys();
    // A table gone (a migration not applied): the route's query fails with 42P01.
    await asOwner("alter table credit_ledger rename to credit_ledger_moved");
    try {
      const res = await invoke("GET", "/api/v1/credits/ledger", { key: t.keys.viewer.key });
      expect(res.status).toBe(500);
      expect(res.body.error).toMatchObject({ code: "internal", message: "Internal error", details: null });
      expect(res.text).not.toMatch(/credit_ledger/);
      const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
      expect(line, lines.join("\n")).toMatchObject({
        level: "error",
        requestId: res.body.error.requestId,
        route: "GET /api/v1/credits/ledger",
        err: {
          name: "AppError",
          code: "internal",
          cause: { name: "error", code: "42P01", message: 'relation "credit_ledger" does not exist' },
        },
      });
    } finally {
      await asOwner("alter table credit_ledger_moved rename to credit_ledger");
    }
  });

  it("write each cause's name, message and code, with secrets masked at every level", () => {
    setConfig({ LOG_LEVEL: "info" });
    const root = Object.assign(new Error("connect to postgres://aos:s3cret-pw@db.example:5432/aos refused"), {
      code: "ECONNREFUSED",
    });
    const middle = new Error("key aos_ABCDEFGHijklmnop0123456789abcdef was refused", { cause: root });
    const looped = new Error("outer", { cause: middle });
    (root as { cause?: unknown }).cause = looped; // a cycle stops after a few causes
    log.error("failed", { err: looped });
    const line = JSON.parse(lines.at(-1) as string);
    expect(line.err).toMatchObject({
      name: "Error",
      message: "outer",
      cause: {
        message: "key aos_*** was refused",
        cause: { code: "ECONNREFUSED", message: "connect to postgres://aos:***@db.example:5432/aos refused" },
      },
    });
    expect(JSON.stringify(line)).not.toMatch(/s3cret|ABCDEFGH/);
    expect(line.err.cause.stack).toBeUndefined();
  });

  it("of a 503 name the code on the request line and the cause on a warning", async () => {
    setConfig({ LOG_LEVEL: "info" });
    const t = await makeTenantWithKeys();
    const url = new URL(config().databaseUrl);
    url.port = String(await closedPort());
    url.password = "s3cret-pw";
    const res = await withConfig({ DATABASE_URL: url.toString(), AUTH_CACHE_TTL_S: "0" }, () =>
      invoke("GET", "/api/v1/credits", { key: t.keys.viewer.key }),
    );
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("1");
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.find((l) => l.msg === "request")).toMatchObject({ status: 503, code: "db.unavailable" });
    expect(parsed.find((l) => l.msg === "dependency failed")).toMatchObject({
      level: "warn",
      route: "GET /api/v1/credits",
      err: { code: "db.unavailable", cause: { code: "ECONNREFUSED" } },
    });
    expect(lines.join("\n")).not.toContain("s3cret-pw");
  });
});
