/**
 * `npm start` end to end: `node bin/aos.js dev` as a child process with its own database, roles,
 * stage and free ports; it must create the owner and application roles, print an admin key that
 * works (the same one on the next start), answer /health, and exit 0 on SIGINT; and it must
 * outlive its Postgres connections being killed under load.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { AosDev, type Started } from "../setup/aos-dev.ts";
import { startWebhookReceiver } from "../setup/external-servers.ts";
import { type Call, expectSuccessOr503, startLoad } from "../setup/fault-load.ts";

const env = inject("aos");
const dev = new AosDev("start");
const { db, ownerRole, appRole, dataDir } = dev;
const roleUrl = (role: string) => dev.roleUrl(role);
const admin = (sql: string) => dev.admin(sql);

let firstKey: string | undefined;

async function asRole<T>(role: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: roleUrl(role) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The dev tenant's admin keys, newest first. */
const devAdminKeys = () =>
  asRole(appRole, async (c) => {
    const { rows } = await c.query(
      `select k.name, k.revoked_at is not null as revoked from api_keys k join tenants t on t.id = k.tenant_id
        where t.slug = 'dev' and k.role = 'admin' order by k.created_at desc`,
    );
    return rows;
  });

async function stopAndExpectCleanExit(s: Started): Promise<void> {
  const t = Date.now();
  const result = await dev.stop(s);
  expect(result, s.output()).toEqual({ code: 0, signal: null });
  expect(Date.now() - t).toBeLessThan(15_000);
  expect(s.output()).toMatch(/\nstopped\n/);
  // Exited by itself, not by dev.ts's last-resort exit when a handle stays open.
  expect(s.output()).not.toContain("still open after stopping");
}

const start = (extraEnv: Record<string, string> = {}, ms = 60_000) => dev.start(extraEnv, ms);

afterAll(() => dev.cleanup());

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
    expect(s.output()).toMatch(/tenant\s+dev created with 1000 credits; a new admin key/);
    // A new user's first skill call or job is not refused for credits.
    const credits = await fetch(`${s.url}/api/v1/credits`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(((await credits.json()) as { balance: number }).balance).toBe(1000);
    expect(s.output().match(/aos_[A-Za-z0-9_-]{32}/g)).toHaveLength(1);
    firstKey = s.key;

    // Both roles were made; the owner owns the database, the application role may only append history.
    expect(s.output()).toContain(`created the database role ${ownerRole}`);
    expect(s.output()).toContain(`created the database role ${appRole}`);
    const roles = await asRole(appRole, (c) =>
      c.query(
        `select current_user as user, pg_get_userbyid(d.datdba) as owner,
                has_table_privilege('status_history', 'INSERT') as append,
                has_table_privilege('status_history', 'UPDATE') as rewrite
           from pg_database d where d.datname = current_database()`,
      ),
    );
    expect(roles.rows).toEqual([{ user: appRole, owner: ownerRole, append: true, rewrite: false }]);

    // The key it printed is an admin key of the dev tenant.
    const keys = await fetch(`${s.url}/api/v1/keys`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(keys.status).toBe(200);
    const unknown = await fetch(`${s.url}/no/such/route`);
    expect(unknown.status).toBe(404);

    await stopAndExpectCleanExit(s);
  });

  it("on a later start finds the dev tenant and prints the same key again, minting no other", {
    timeout: 90_000,
  }, async () => {
    const secretFile = join(dataDir, "webhook-signing-secret");
    const master = readFileSync(secretFile, "utf8");
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const s = await start();
    expect(s.output()).toMatch(/tenant\s+dev exists; its admin key \(kept in .*dev-admin-key\)/);
    expect(s.key).toBe(firstKey);
    // webhook_send works out of the box: the dev signing secret (kept from the first start) signs,
    // and a receiver on loopback is allowed.
    expect(readFileSync(secretFile, "utf8")).toBe(master);
    const auth = { authorization: `Bearer ${s.key}`, "content-type": "application/json" };
    const published = await fetch(`${s.url}/api/v1/webhooks/signing_secret`, { headers: auth });
    expect(published.status).toBe(200);
    const hook = await startWebhookReceiver({ secret: ((await published.json()) as { secret: string }).secret });
    try {
      const sent = await fetch(`${s.url}/api/v1/skills/webhook_send/execute`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ args: { url: hook.url, payload: { hello: "dev" } } }),
      });
      expect(sent.status, await sent.clone().text()).toBe(200);
      expect(hook.deliveries).toHaveLength(1);
      expect(hook.rejected).toHaveLength(0);
    } finally {
      await hook.close();
    }
    const r = await fetch(`${s.url}/api/v1/tenants`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as { data: { slug: string }[] };
    expect(data.filter((t) => t.slug === "dev")).toHaveLength(1);
    expect(await devAdminKeys()).toEqual([{ name: "npm start", revoked: false }]);
    expect((statSync(join(dataDir, "dev-admin-key")).mode & 0o777).toString(8)).toBe("600");

    // Revoked: the next start mints another and keeps that one instead.
    const id = (
      (await (await fetch(`${s.url}/api/v1/keys`, { headers: { authorization: `Bearer ${s.key}` } })).json()) as {
        data: { id: string; role: string }[];
      }
    ).data.find((k) => k.role === "admin")?.id;
    const revoked = await fetch(`${s.url}/api/v1/keys/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${s.key}` },
    });
    expect(revoked.status).toBe(200);
    await stopAndExpectCleanExit(s);
    const again = await start();
    expect(again.output()).toMatch(/tenant\s+dev exists; a new admin key/);
    expect(again.key).not.toBe(firstKey);
    expect(readFileSync(join(dataDir, "dev-admin-key"), "utf8").trim()).toBe(again.key);
    expect(await devAdminKeys()).toEqual([
      { name: "npm start", revoked: false },
      { name: "npm start", revoked: true },
    ]);
    await stopAndExpectCleanExit(again);
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

  it("killed mid-job (SIGKILL, its in-memory queue lost), the next start finishes the job within seconds", {
    timeout: 120_000,
  }, async () => {
    const s = await start();
    const auth = { authorization: `Bearer ${s.key}`, "content-type": "application/json" };
    const post = (path: string, body: unknown) =>
      fetch(`${s.url}${path}`, { method: "POST", headers: auth, body: JSON.stringify(body) });
    expect((await post("/api/v1/credits/grants", { amount: 1_000_000, reason: "restart test" })).status).toBe(201);
    const n = 1000;
    const spawned = await post("/api/v1/jobs", {
      task: "kv_store",
      items: Array.from({ length: n }, (_, i) => ({ input: { op: "incr", key: `restart-${i % 7}` } })),
      parallelism: 200,
      item_timeout_s: 2,
    });
    expect(spawned.status, await spawned.clone().text()).toBe(201);
    const jobId = ((await spawned.json()) as { id: string }).id;
    const counts = () =>
      asRole(appRole, async (c) => {
        const { rows } = await c.query(
          `select j.status, count(*) filter (where i.status = 'done')::int as done,
             count(*) filter (where i.status = 'pending')::int as pending,
             count(*) filter (where i.status = 'claimed')::int as claimed
           from jobs j join job_items i on i.job_id = j.id where j.id = $1 group by j.status`,
          [jobId],
        );
        return rows[0] as { status: string; done: number; pending: number; claimed: number };
      });
    // Mid-run: some items done, most not.
    for (let t = Date.now(); (await counts()).done < 600 && Date.now() - t < 30_000; )
      await new Promise((r) => setTimeout(r, 20));
    process.kill(-(s.child.pid as number), "SIGKILL");
    await s.exited;
    const left = await counts();
    console.log(`killed with ${left.done} of ${n} items done, ${left.pending} pending, ${left.claimed} claimed`);
    expect(left.status).toBe("running");
    expect(left.done).toBeLessThan(n);

    const again = await start();
    const ready = Date.now();
    let now = await counts();
    let resumed: number | undefined;
    while (now.status === "running" && Date.now() - ready < 60_000) {
      await new Promise((r) => setTimeout(r, 50));
      now = await counts();
      if (resumed === undefined && now.done > left.done) resumed = Date.now() - ready;
    }
    const took = Date.now() - ready;
    console.log(
      `restart: first item done ${resumed} ms and the job ${now.status} ${took} ms after the second start was ready (${n - left.done} items left, leases 2 s)`,
    );
    expect(again.output()).toMatch(/redrive\s+\d+ job item\(s\)/);
    // Every item is done: the re-drive lost none, and an item whose skill call was in flight at
    // the kill (its idempotency key still "running" for the dead call's lease) waited for that
    // lease instead of spending its attempts on skills.in_progress.
    expect(now.done, again.output()).toBe(n);
    expect(now.pending + now.claimed).toBe(0);
    expect(now.status).toBe("completed");
    expect(resumed).toBeLessThan(3_000);
    expect(took).toBeLessThan(10_000);
    await stopAndExpectCleanExit(again);
  });

  it("killed mid-workflow, the next start sends the run's next step and a queued replay's message again", {
    timeout: 120_000,
  }, async () => {
    // Replays of runs over 1 op are queued (WorkflowReplays), not verified in the request.
    const env = { WORKFLOW_REPLAY_MAX_OPS: "1" };
    const s = await start(env);
    const auth = { authorization: `Bearer ${s.key}`, "content-type": "application/json" };
    const post = (path: string, body: unknown) =>
      fetch(`${s.url}${path}`, { method: "POST", headers: auth, body: JSON.stringify(body) });
    expect((await post("/api/v1/credits/grants", { amount: 100_000, reason: "restart test" })).status).toBe(201);
    const name = `restart-${Date.now()}`;
    const steps = Array.from({ length: 100 }, (_, i) => ({
      id: `s${i}`,
      skill: "kv_store",
      args: { op: "incr", key: `${name}-${i % 5}` },
    }));
    const runOf = async (workflow: string, n: number) => {
      expect((await post("/api/v1/workflows", { name: workflow, steps: steps.slice(0, n) })).status).toBe(201);
      const started = await post(`/api/v1/workflows/${workflow}/runs`, {});
      expect(started.status, await started.clone().text()).toBe(202);
      return ((await started.json()) as { id: string }).id;
    };
    const runState = (id: string) =>
      asRole(appRole, async (c) => {
        const { rows } = await c.query(
          "select status, next_op_index, tenant_id, version from workflow_runs where id = $1",
          [id],
        );
        return rows[0] as { status: string; next_op_index: number; tenant_id: string; version: number };
      });
    // A short run that completes (its replay is queued below), then a long one killed mid-way.
    const shortId = await runOf(`${name}-short`, 3);
    for (let t = Date.now(); (await runState(shortId)).status === "running" && Date.now() - t < 30_000; )
      await new Promise((r) => setTimeout(r, 20));
    const short = await runState(shortId);
    expect(short.status).toBe("completed");
    const runId = await runOf(name, 100);
    for (let t = Date.now(); (await runState(runId)).next_op_index < 10 && Date.now() - t < 30_000; )
      await new Promise((r) => setTimeout(r, 20));
    process.kill(-(s.child.pid as number), "SIGKILL");
    await s.exited;
    const left = await runState(runId);
    expect(left.status).toBe("running");
    expect(left.next_op_index).toBeLessThan(100);
    // A replay of the short run the dead process had queued: its message (sent, enqueued_at
    // stamped) died with the queue.
    const replayId = await asRole(appRole, async (c) => {
      const { rows } = await c.query(
        `insert into replay_runs (tenant_id, workflow_run_id, mode, version, status, requested_by, started_at, enqueued_at)
         values ($1, $2, 'verify', $3, 'pending', 'restart test', now(), now()) returning replay_id`,
        [short.tenant_id, shortId, short.version],
      );
      return (rows[0] as { replay_id: string }).replay_id;
    });
    const replayStatus = () =>
      asRole(appRole, async (c) => {
        const { rows } = await c.query("select status from replay_runs where replay_id = $1", [replayId]);
        return (rows[0] as { status: string }).status;
      });

    const again = await start(env);
    const ready = Date.now();
    expect(again.output()).toMatch(
      /redrive\s+\d+ job item\(s\), \d+ export\(s\), 1 workflow step\(s\), 1 replay\(s\) and \d+ costsim alert\(s\)/,
    );
    let run = await runState(runId);
    let replay = await replayStatus();
    // Killed inside an op's call, the dead process holds the op's idempotency key until its lease
    // ends (kv_store's 25 s timeout + 5 s from the claim): the op's message is then sent again to
    // arrive at that moment (step.ts resendWhenFree). Killed anywhere else, the run goes on at once.
    while ((run.status === "running" || replay === "pending" || replay === "running") && Date.now() - ready < 45_000) {
      await new Promise((r) => setTimeout(r, 50));
      [run, replay] = [await runState(runId), await replayStatus()];
    }
    console.log(
      `restart: the run (killed at op ${left.next_op_index}) ${run.status} and the replay ${replay} ${Date.now() - ready} ms after the second start was ready`,
    );
    expect(run).toMatchObject({ status: "completed", next_op_index: 100 });
    expect(replay).toBe("verified");
    await stopAndExpectCleanExit(again);
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
