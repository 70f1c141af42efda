import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import * as Tenancy from "../../core/tenancy/index.ts";

const run = promisify(execFile);
const aos = async (...args: string[]) => {
  const c = config();
  try {
    const r = await run("node", ["bin/aos.js", ...args], {
      env: {
        ...process.env,
        DATABASE_URL: c.databaseUrl,
        DATABASE_MIGRATION_URL: c.databaseMigrationUrl,
        REDIS_URL: c.redisUrl,
        STAGE: c.stage,
        LOG_LEVEL: "silent",
      },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

describe("aos CLI", () => {
  it("--help lists every command", async () => {
    const r = await aos("--help");
    expect(r.code).toBe(0);
    for (const c of [
      "dev",
      "migrate up",
      "migrate down",
      "migrate status",
      "tenants create",
      "keys create",
      "openapi",
      "api",
      "health",
    ]) {
      expect(r.stdout).toContain(`aos ${c}`);
    }
  });

  it("tenants create and keys create print keys that authenticate with the right tenant and role", async () => {
    const t = await aos("tenants", "create", "cli-co", "--name", "CLI Co");
    expect(t.code, t.stderr).toBe(0);
    const tenantKey = /aos_[A-Za-z0-9_-]{32}/.exec(t.stdout)?.[0];
    expect(tenantKey).toBeDefined();
    const k = await aos("keys", "create", "--tenant", "cli-co", "--role", "agent");
    expect(k.code, k.stderr).toBe(0);
    const agentKey = /aos_[A-Za-z0-9_-]{32}/.exec(k.stdout)?.[0] as string;
    const actor = await Tenancy.authenticate(agentKey);
    expect(actor.role).toBe("agent");
    expect((await Tenancy.authenticate(tenantKey as string)).tenantId).toBe(actor.tenantId);
    const list = await aos("keys", "list", "--tenant", "cli-co");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(agentKey.slice(0, 16));
    expect(list.stdout).not.toContain(agentKey);
  });

  it("refuses bad input with a clear message and a non-zero exit", async () => {
    const r = await aos("keys", "create", "--tenant", "nobody", "--role", "agent");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Tenant nobody not found");
    const days = await aos("keys", "create", "--tenant", "nobody", "--role", "agent", "--expires-in-days", "soon");
    expect(days.code).toBe(1);
    expect(days.stderr).toContain("expires_in_days");
    const bad = await aos("keys", "create", "--bogus");
    expect(bad.code).toBe(2);
    expect((await aos("nonsense")).code).toBe(2);
  });

  it("migrate status shows every migration applied", async () => {
    const r = await aos("migrate", "status");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0001 {2}applied +tenancy/);
  });
});
