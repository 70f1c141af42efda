/**
 * `npm start` (`node bin/aos.js dev`) as a child process with a database, roles, stage, data dir
 * and free ports of its own, for tests that drive AOS as a user would: `start()` waits for its
 * key and ready lines; `env` is what a CLI command run beside it needs (the same database and
 * Redis, AOS_URL); `cleanup()` kills what is left (the private Alertmanager `npm start` leaves
 * running in the data dir included) and drops what it made.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import { RedisClient } from "../../core/platform/redis-client.ts";
import { stopLocalAlertmanager } from "../../local/alertmanager.ts";
import { asUser } from "../../local/db-roles.ts";

export interface Started {
  child: ChildProcess;
  output: () => string;
  key: string;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class AosDev {
  readonly db: string;
  readonly ownerRole: string;
  readonly appRole: string;
  readonly stage: string;
  readonly dataDir: string;
  private readonly children: ChildProcess[] = [];
  private readonly aos = inject("aos");

  constructor(name: string) {
    this.db = `aos_${name}_${process.pid}`;
    this.ownerRole = `aos_${name}_owner_${process.pid}`;
    this.appRole = `aos_${name}_app_${process.pid}`;
    this.stage = `t-${name.replace(/_/g, "-")}-${process.pid}`;
    this.dataDir = mkdtempSync(join(tmpdir(), `aos-${name}-`));
  }

  roleUrl(role: string): string {
    return asUser(this.aos.pgBase, role, this.db);
  }

  /** The environment of the server, and of a CLI command that talks to its database directly. */
  serverEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PORT: "0",
      LOCAL_S3_PORT: "0",
      LOCAL_SQS_PORT: "0",
      DATABASE_URL: this.roleUrl(this.appRole),
      DATABASE_MIGRATION_URL: this.roleUrl(this.ownerRole),
      LOCAL_PG_SUPERUSER: new URL(this.aos.pgBase).username || "postgres",
      REDIS_URL: this.aos.redisUrl,
      STAGE: this.stage,
      AOS_DATA_DIR: this.dataDir,
      LOG_LEVEL: "warn",
      // What a fresh machine has: no signing secret, no outbound allow list (npm start sets both).
      WEBHOOK_SIGNING_SECRET: undefined,
      SKILL_OUTBOUND_ALLOW_HOSTS: undefined,
      ...extra,
    };
  }

  /** Spawn `aos dev` and wait (at most `ms`) for its key line and its ready line. */
  async start(extraEnv: Record<string, string | undefined> = {}, ms = 60_000): Promise<Started> {
    const child = spawn(process.execPath, ["bin/aos.js", "dev"], {
      env: this.serverEnv(extraEnv),
      // Its own process group, so a test can signal it as a terminal's Ctrl-C would, and kill
      // whatever is left if an assertion fails.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.push(child);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const until = Date.now() + ms;
    for (;;) {
      const key = /export AOS_KEY=(aos_[A-Za-z0-9_-]{32})\s/.exec(out)?.[1];
      const url = /AOS ready on (http:\/\/[^\s]+)/.exec(out)?.[1];
      if (key && url) return { child, output: () => out, key, url, exited };
      if (child.exitCode !== null) throw new Error(`aos dev exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > until) throw new Error(`aos dev not ready after ${ms} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGINT to the process group, as Ctrl-C; what it exited with (or "timeout" after 15 s). */
  async stop(s: Started): Promise<{ code: number | null; signal: NodeJS.Signals | null } | "timeout"> {
    process.kill(-(s.child.pid as number), "SIGINT");
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000));
    return Promise.race([s.exited, timeout]);
  }

  async admin(sql: string): Promise<void> {
    const c = new pg.Client({ connectionString: `${this.aos.pgBase}/postgres` });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }

  async cleanup(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-(c.pid as number), "SIGKILL");
        } catch {}
      }
    }
    await this.admin(`drop database if exists "${this.db}" with (force)`);
    for (const role of [this.appRole, this.ownerRole]) await this.admin(`drop role if exists ${role}`);
    const r = new RedisClient(this.aos.redisUrl, { commandTimeoutMs: 5_000, backoffMs: 0 });
    const keys = (await r.call(["KEYS", `aos:${this.stage}:*`])) as string[];
    if (keys.length) await r.call(["DEL", ...keys]);
    await r.quit();
    await stopLocalAlertmanager(this.dataDir);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
