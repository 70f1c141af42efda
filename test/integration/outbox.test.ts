/**
 * The one outbox (core/platform/outbox/) as jobs and exports use it, against real Postgres and
 * fauxqs: a send lost after commit is re-sent by the sweeper, a crash between send and stamp
 * costs one harmless duplicate, two sweepers never send a row twice, a sweeper's failed send is
 * unstamped and tried again, and the outbox metrics say so.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { query } from "../../core/platform/db/index.ts";
import { renderMetrics } from "../../core/platform/metrics/index.ts";
import { handler as jobSweep } from "../../functions/cron/job-sweep.ts";
import { handler as exportSweep } from "../../functions/cron/status-history-export-sweep.ts";
import { invoke, lambdaContext, scheduledEvent } from "../events/index.ts";
import { ledgerOf } from "../factories/credits.ts";
import { checkedKeyedTenants, kvCounter, workItems } from "../factories/jobs.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
type ItemMessage = { v: number; tenantId: string; jobId: string; itemId: string };

const tenant = checkedKeyedTenants();

const tag = () => randomBytes(4).toString("hex");

/** The configuration with `queue`'s URL pointing nowhere: every send to it fails. */
const deadQueue = (queue: string) => ({
  QUEUE_URLS: JSON.stringify({ ...config().sqs.queueUrls, [queue]: "http://127.0.0.1:1/000000000000/dead" }),
});

/** A kv_store job of `n` increments of `key`; its id. */
async function spawnKv(t: Tenant, key: string, n: number): Promise<string> {
  const res = await invoke("POST", "/api/v1/jobs", {
    key: t.keys.agent.key,
    body: { task: "kv_store", items: Array.from({ length: n }, () => ({ input: { op: "incr", key } })) },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

/** The job spawned longer ago than the outbox's grace for a first send (60 s). */
const age = (jobId: string) =>
  query("update jobs set created_at = created_at - interval '2 minutes' where id = $1", [jobId]);

const sweepJobs = () => jobSweep(scheduledEvent(), lambdaContext()) as Promise<{ resent: number }>;
const drainItems = (want = 0) => takeMessages<ItemMessage>("JobItems", want);

const work = workItems;
const counter = (t: Tenant, key: string) => kvCounter(t.tenant.id, key);

async function unsent(jobId: string): Promise<number> {
  const { rows } = await query<{ n: number }>(
    "select count(*)::int as n from job_items where job_id = $1 and enqueued_at is null",
    [jobId],
  );
  return rows[0]?.n ?? -1;
}

/** A sample of the merged metrics (what GET /metrics shows), 0 when absent. */
async function sample(line: string): Promise<number> {
  const { body } = await renderMetrics();
  const found = body.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

beforeAll(async () => {
  await drainItems();
});

describe("the item outbox", () => {
  it("a crash between send and stamp: the sweeper sends again, and the duplicates change nothing", async () => {
    const t = await tenant();
    const key = `dup-${tag()}`;
    const id = await spawnKv(t, key, 3);
    const first = await drainItems(3);
    expect(first).toHaveLength(3);
    // The process died after SQS accepted the messages, before it stamped the rows.
    await query("update job_items set enqueued_at = null where job_id = $1", [id]);
    await age(id);
    expect(await sweepJobs()).toMatchObject({ resent: 3 });
    expect(await unsent(id)).toBe(0);
    const second = await drainItems(3);
    expect(second.map((m) => m.itemId).sort()).toEqual(first.map((m) => m.itemId).sort());
    expect(await work([...first, ...second])).toEqual([]);
    expect(await counter(t, key)).toBe(3);
    expect(await ledgerOf(id)).toEqual({ reserve: { n: 1, amount: 3 }, charge: { n: 3, amount: 3 } });
  });

  it("two sweepers at once send each lost message once, and a third finds nothing", async () => {
    const t = await tenant();
    const id = await withConfig(deadQueue("JobItems"), () => spawnKv(t, `two-${tag()}`, 30));
    expect(await unsent(id)).toBe(30);
    await age(id);
    const [a, b] = await Promise.all([sweepJobs(), sweepJobs()]);
    expect(a.resent + b.resent).toBe(30);
    expect(await sweepJobs()).toMatchObject({ resent: 0 });
    const messages = await drainItems(30);
    expect(messages).toHaveLength(30);
    expect(new Set(messages.map((m) => m.itemId)).size).toBe(30);
    expect(await work(messages)).toEqual([]);
  });

  it("a sweeper whose send fails puts the stamp back, meters it, and the next run sends", async () => {
    const t = await tenant();
    const id = await withConfig(deadQueue("JobItems"), () => spawnKv(t, `fail-${tag()}`, 4));
    await age(id);
    const failures = {
      commit: await sample('aos_outbox_send_failures_total{outbox="job_items",via="commit"}'),
      sweep: await sample('aos_outbox_send_failures_total{outbox="job_items",via="sweep"}'),
    };
    const resent = await sample('aos_outbox_resent_total{outbox="job_items"}');
    expect(await withConfig(deadQueue("JobItems"), sweepJobs)).toMatchObject({ resent: 0 });
    expect(await unsent(id)).toBe(4);
    expect(await sample('aos_outbox_send_failures_total{outbox="job_items",via="sweep"}')).toBe(failures.sweep + 4);
    // The oldest item never sent is as old as its job: two minutes.
    expect(await sample('aos_outbox_oldest_unsent_age_seconds{outbox="job_items"}')).toBeGreaterThanOrEqual(119);

    expect(await sweepJobs()).toMatchObject({ resent: 4 });
    expect(await unsent(id)).toBe(0);
    expect(await sample('aos_outbox_resent_total{outbox="job_items"}')).toBe(resent + 4);
    expect(await sample('aos_outbox_oldest_unsent_age_seconds{outbox="job_items"}')).toBe(0);
    expect(await sample('aos_outbox_send_failures_total{outbox="job_items",via="commit"}')).toBe(failures.commit);
    expect(await work(await drainItems(4))).toEqual([]);
  });

  it("a send failing after commit is metered on the commit path", async () => {
    const t = await tenant();
    const before = await sample('aos_outbox_send_failures_total{outbox="job_items",via="commit"}');
    const id = await withConfig(deadQueue("JobItems"), () => spawnKv(t, `commit-${tag()}`, 2));
    expect(await sample('aos_outbox_send_failures_total{outbox="job_items",via="commit"}')).toBe(before + 2);
    expect((await invoke("POST", `/api/v1/jobs/${id}/cancel`, { key: t.keys.agent.key, body: {} })).status).toBe(200);
  });
});

describe("the export outbox", () => {
  const sweep = () => exportSweep(scheduledEvent(), lambdaContext()) as Promise<{ redriven: number }>;
  const drainExports = (want = 0) =>
    takeMessages<{ v: number; tenantId: string; exportId: string }>("StatusHistoryExports", want);
  const enqueuedAt = async (id: string) =>
    (await query<{ enqueued_at: Date | null }>("select enqueued_at from status_history_exports where id = $1", [id]))
      .rows[0]?.enqueued_at;

  it("a send lost after commit is re-sent by the sweeper once the grace passed, stamped, and not sent twice", async () => {
    const t = await makeTenantWithKeys();
    await drainExports();
    const before = await sample('aos_outbox_send_failures_total{outbox="status_history_exports",via="commit"}');
    const res = await withConfig(deadQueue("StatusHistoryExports"), () =>
      invoke("POST", "/api/v1/status_history/export", { key: t.keys.operator.key, body: { format: "csv" } }),
    );
    expect(res.status, res.text).toBe(202);
    const id = res.body.id as string;
    expect(await enqueuedAt(id)).toBeNull();
    expect(await sample('aos_outbox_send_failures_total{outbox="status_history_exports",via="commit"}')).toBe(
      before + 1,
    );
    expect(await drainExports()).toEqual([]);
    // Within the grace its own send may still be under way: left alone.
    expect((await sweep()).redriven).toBe(0);
    await query("update status_history_exports set created_at = created_at - interval '2 minutes' where id = $1", [id]);
    expect((await sweep()).redriven).toBe(1);
    expect(await enqueuedAt(id)).toBeInstanceOf(Date);
    expect(await drainExports(1)).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: id }]);
    expect((await sweep()).redriven).toBe(0);
    expect(await drainExports()).toEqual([]);
  });

  it("an export sent and stamped is left alone until its message looks lost", async () => {
    const t = await makeTenantWithKeys();
    await drainExports();
    const res = await invoke("POST", "/api/v1/status_history/export", {
      key: t.keys.operator.key,
      body: { format: "jsonl" },
    });
    const id = res.body.id as string;
    expect(await drainExports(1)).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: id }]);
    expect(await enqueuedAt(id)).toBeInstanceOf(Date);
    await query("update status_history_exports set created_at = created_at - interval '2 minutes' where id = $1", [id]);
    expect((await sweep()).redriven).toBe(0);
    // Sent 21 minutes ago and still pending: presumed lost (more than the 960 s visibility timeout).
    await query("update status_history_exports set enqueued_at = enqueued_at - interval '21 minutes' where id = $1", [
      id,
    ]);
    expect((await sweep()).redriven).toBe(1);
    expect(await drainExports(1)).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: id }]);
  });
});
