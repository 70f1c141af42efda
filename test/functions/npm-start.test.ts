/**
 * `npm start` end to end: `node bin/aos.js dev` as a child process with its own database, stage
 * and free ports; it must print an admin key that works, answer /health, and exit 0 on SIGINT;
 * and it must outlive its Postgres connections being killed under load.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type Call, expectSuccessOr503, startLoad } from "../setup/fault-load.ts";

const env = inject("aos");
const db = `aos_start_${process.pid}`;
const stage = `t-start-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), "aos-start-"));
const children: ChildProcess[] = [];

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: `${env.pgBase}/postgres` });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

interface Started {
  child: ChildProcess;
  output: () => string;
  key: string;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawn `aos dev` and wait (at most `ms`) for its key line and its ready line. */
async function start(extraEnv: Record<string, string> = {}, ms = 60_000): Promise<Started> {
  const child = spawn(process.execPath, ["bin/aos.js", "dev"], {
    env: {
      ...process.env,
      PORT: "0",
      LOCAL_S3_PORT: "0",
      LOCAL_SQS_PORT: "0",
      DATABASE_URL: `${env.pgBase}/${db}`,
      REDIS_URL: env.redisUrl,
      STAGE: stage,
      AOS_DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      ...extraEnv,
    },
    // Its own process group, so the test can signal it as a terminal's Ctrl-C would, and kill
    // whatever is left if an assertion fails.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
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

async function stopAndExpectCleanExit(s: Started): Promise<void> {
  const t = Date.now();
  process.kill(-(s.child.pid as number), "SIGINT");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000));
  const result = await Promise.race([s.exited, timeout]);
  expect(result, s.output()).toEqual({ code: 0, signal: null });
  expect(Date.now() - t).toBeLessThan(15_000);
  expect(s.output()).toMatch(/\nstopped\n/);
  // Exited by itself, not by dev.ts's last-resort exit when a handle stays open.
  expect(s.output()).not.toContain("still open after stopping");
}

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-(c.pid as number), "SIGKILL");
      } catch {}
    }
  }
  await admin(`drop database if exists "${db}" with (force)`);
  const r = new Redis(env.redisUrl);
  const keys = await r.keys(`aos:${stage}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start (aos dev)", () => {
  it("prints an admin key, serves /health with 200 and exits 0 on SIGINT", { timeout: 90_000 }, async () => {
    await admin(`drop database if exists "${db}" with (force)`);
    const t0 = Date.now();
    const s = await start();
    let health: Response | undefined;
    while (Date.now() - t0 < 60_000) {
      health = await fetch(`${s.url}/health`).catch(() => undefined);
      if (health?.status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const body = await health?.text();
    expect(health?.status, `${body}\n${s.output()}`).toBe(200);
    console.log(`aos dev: /health 200 after ${Date.now() - t0} ms from spawn`);
    expect(JSON.parse(body ?? "{}")).toMatchObject({ status: "ok" });
    expect(s.output()).toMatch(/tenant\s+dev created/);
    expect(s.output().match(/aos_[A-Za-z0-9_-]{32}/g)).toHaveLength(1);

    // The key it printed is an admin key of the dev tenant.
    const keys = await fetch(`${s.url}/api/v1/keys`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(keys.status).toBe(200);
    const unknown = await fetch(`${s.url}/no/such/route`);
    expect(unknown.status).toBe(404);

    await stopAndExpectCleanExit(s);
  });

  it("on a later start finds the dev tenant and prints a fresh key that works", { timeout: 90_000 }, async () => {
    const s = await start();
    expect(s.output()).toMatch(/tenant\s+dev exists/);
    const r = await fetch(`${s.url}/api/v1/tenants`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as { data: { slug: string }[] };
    expect(data.filter((t) => t.slug === "dev")).toHaveLength(1);
    await stopAndExpectCleanExit(s);
  });

  it("survives pg_terminate_backend on its connections under load: 503s, then served", {
    timeout: 90_000,
  }, async () => {
    const s = await start();
    const call: Call = async (method, path, o) => {
      const r = await fetch(`${s.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${o.key}`, "content-type": "application/json" },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      const text = await r.text();
      return { status: r.status, headers: Object.fromEntries(r.headers), body: text ? JSON.parse(text) : undefined };
    };
    const grant = await call("POST", "/api/v1/credits/grants", {
      key: s.key,
      body: { amount: 1_000_000, reason: "faults" },
    });
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);
    const load = startLoad(call, s.key, 6);
    const c = new pg.Client({ connectionString: `${env.pgBase}/postgres` });
    await c.connect();
    let killed = 0;
    try {
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        const { rows } = await c.query<{ pid: number }>(
          "select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
          [db],
        );
        for (const { pid } of rows) await c.query("select pg_terminate_backend($1)", [pid]);
        killed += rows.length;
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await c.end();
    }
    const outcomes = await load.stop();
    const by: Record<number, number> = {};
    for (const o of outcomes) by[o.status] = (by[o.status] ?? 0) + 1;
    console.log(`aos dev under pg_terminate_backend: ${killed} backends killed; replies ${JSON.stringify(by)}`);
    expect(s.child.exitCode, s.output()).toBeNull();
    expect(killed).toBeGreaterThan(5);
    expect(by[503] ?? 0).toBeGreaterThan(0);
    expectSuccessOr503(outcomes);
    const next = await call("GET", "/api/v1/jobs", { key: s.key });
    expect(next.status).toBe(200);
    await stopAndExpectCleanExit(s);
  });

  it("uses S3 and SQS at S3_ENDPOINT / SQS_ENDPOINT instead of starting its own", { timeout: 90_000 }, async () => {
    const s = await start({ S3_ENDPOINT: env.s3Endpoint, SQS_ENDPOINT: env.sqsEndpoint });
    expect(s.output()).toContain(`s3        ${env.s3Endpoint} (S3_ENDPOINT`);
    expect(s.output()).toContain(`sqs       ${env.sqsEndpoint} (SQS_ENDPOINT)`);
    expect(s.output()).not.toMatch(/s3rver|fauxqs/);
    // Health probes the bucket and the queues it created there.
    const health = await fetch(`${s.url}/health`);
    expect(health.status, await health.text()).toBe(200);
    await stopAndExpectCleanExit(s);
  });
});
