import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.ts";
import { config } from "../../core/config.ts";
import { query } from "../../core/platform/db/index.ts";
import * as Tenancy from "../../core/tenancy/index.ts";
import { closedPort } from "../setup/net.ts";

const run = promisify(execFile);
/** `aos ...args` as a child process, configured as this test file is (plus `env`). */
const aosWith = async (env: Record<string, string>, ...args: string[]) => {
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
        ...env,
      },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};
const aos = (...args: string[]) => aosWith({}, ...args);

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

  it("--help of every group and every command prints its help and exits 0", async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
      out.push(a.join(" "));
    });
    try {
      for (const group of ["migrate", "tenants", "keys", "export"]) {
        for (const flag of ["--help", "-h"]) {
          out.length = 0;
          expect(await main([group, flag]), `aos ${group} ${flag}`).toBe(0);
          expect(out.join("\n")).toMatch(new RegExp(`^Usage: aos ${group} <subcommand>`));
        }
      }
      const commands = ["dev", "migrate up", "migrate down", "migrate status", "tenants create", "tenants list"]
        .concat(["keys create", "keys list", "keys revoke", "export status-history", "openapi", "settings"])
        .concat(["api", "health", "load-test"]);
      for (const name of commands) {
        out.length = 0;
        expect(await main([...name.split(" "), "--help"]), `aos ${name} --help`).toBe(0);
        expect(out.join("\n")).toMatch(new RegExp(`^Usage: aos ${name}\\b`));
        out.length = 0;
        expect(await main(["help", ...name.split(" ")]), `aos help ${name}`).toBe(0);
      }
    } finally {
      log.mockRestore();
    }
    // As a user types it, in a child process: exit 0 and the help on stdout.
    const r = await aos("migrate", "--help");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("aos migrate up [version]");
    const bare = await aos("keys");
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("a subcommand is required");
  });

  it("with AOS or Postgres down, says which URL it tried and how to start it", async () => {
    const port = await closedPort();
    const aosUrl = `http://127.0.0.1:${port}`;
    for (const args of [
      ["health"],
      ["api", "GET", "/api/v1/keys"],
      ["export", "status-history", "--format", "csv", "--out", join(tmpdir(), `aos-cli-${port}.csv`)],
    ]) {
      const r = await aosWith({ AOS_URL: aosUrl, AOS_KEY: "aos_x" }, ...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(`cannot reach AOS at ${aosUrl} (AOS_URL)`);
      expect(r.stderr).toContain("ECONNREFUSED");
      expect(r.stderr).toContain("npm start");
      expect(r.stderr).not.toContain("fetch failed");
    }
    const pgUrl = `postgres://aos_app:s3cret@127.0.0.1:${port}/aos`;
    const keys = await aosWith({ DATABASE_URL: pgUrl }, "keys", "list", "--tenant", "dev");
    expect(keys.code).toBe(1);
    expect(keys.stderr).toContain(
      `cannot reach Postgres at postgres://aos_app:***@127.0.0.1:${port}/aos (DATABASE_URL)`,
    );
    expect(keys.stderr).toContain("npm start");
    expect(keys.stderr).not.toContain("s3cret");
    const owner = `postgres://aos_owner@127.0.0.1:${port}/aos`;
    const migrate = await aosWith({ DATABASE_MIGRATION_URL: owner }, "migrate", "status");
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`cannot reach Postgres at ${owner} (DATABASE_MIGRATION_URL)`);
    // A role that does not exist (never ran `npm start`): refused, and what makes it.
    const ghost = new URL(config().databaseUrl);
    ghost.username = "aos_no_such_role";
    const refused = await aosWith({ DATABASE_URL: ghost.toString() }, "tenants", "list");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('role "aos_no_such_role" does not exist');
    expect(refused.stderr).toContain("npm start");
  });

  it("keys create --role admin makes a global key only when told --global", async () => {
    const t = await aos("tenants", "create", "cli-admin", "--key-role", "none");
    expect(t.code, t.stderr).toBe(0);
    const count = async () =>
      (
        await query<{ n: number }>(
          "select count(*)::int as n from api_keys k join tenants t on t.id = k.tenant_id where t.slug = 'cli-admin'",
        )
      ).rows[0]?.n;
    const silent = await aos("keys", "create", "--tenant", "cli-admin", "--role", "admin");
    expect(silent.code).toBe(2);
    expect(silent.stderr).toContain("--role admin makes a global key");
    expect(silent.stderr).toContain("--global");
    const stray = await aos("keys", "create", "--tenant", "cli-admin", "--role", "agent", "--global");
    expect(stray.code).toBe(2);
    expect(await count()).toBe(0);
    const meant = await aos("keys", "create", "--tenant", "cli-admin", "--role", "admin", "--global");
    expect(meant.code, meant.stderr).toBe(0);
    expect(meant.stdout).toContain("global admin key (every tenant)");
    const key = /aos_[A-Za-z0-9_-]{32}/.exec(meant.stdout)?.[0] as string;
    expect((await Tenancy.authenticate(key)).role).toBe("admin");
    expect(await count()).toBe(1);
  });

  it("keys revoke --tenant revokes only that tenant's key", async () => {
    await aos("tenants", "create", "cli-rev-a", "--key-role", "none");
    await aos("tenants", "create", "cli-rev-b", "--key-role", "none");
    const made = await aos("keys", "create", "--tenant", "cli-rev-a", "--role", "agent");
    const key = /aos_[A-Za-z0-9_-]{32}/.exec(made.stdout)?.[0] as string;
    const { keyId } = await Tenancy.authenticate(key);
    const wrong = await aos("keys", "revoke", keyId, "--tenant", "cli-rev-b");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not found");
    const right = await aos("keys", "revoke", keyId, "--tenant", "cli-rev-a");
    expect(right.code, right.stderr).toBe(0);
    await expect(Tenancy.authenticate(key)).rejects.toMatchObject({ code: "auth.key_revoked" });
  });
});
