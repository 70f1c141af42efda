/**
 * Every failure AOS produces today lands in failure_matches: a skill execution that fails over
 * HTTP (Slack answering 429 past its retries; a webhook host that does not resolve), an external
 * job item failed for good by its worker, and a poisoned queue message (recorded in queue_failures
 * and fed to the catalog).
 */
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as Failures from "../../core/failures/index.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { backgroundPending } from "../../core/platform/background.ts";
import { query } from "../../core/platform/db/index.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import * as Skills from "../../core/skills/index.ts";
import { invoke, lambdaContext, sqsEvent } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { closedAfterEach, startSlackServer } from "../setup/external-servers.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
const track = closedAfterEach();
beforeAll(async () => {
  t = await makeTenantWithKeys();
  await grantCredits(t.tenant.id, 1_000_000);
});

const rowsOf = async (where: string, params: unknown[]) =>
  (await query<Record<string, unknown>>(`select * from failure_matches where ${where} order by created_at`, params))
    .rows;

describe("failures are recorded where they happen", () => {
  it("a skill execution that fails (Slack 429 after its retries) is one row, matched to slack.rate_limited", async () => {
    const slack = track(await startSlackServer());
    slack.throttle(10, 0);
    await withConfig(
      {
        SLACK_WEBHOOK_URL: slack.url,
        SKILL_OUTBOUND_ALLOW_HOSTS: "",
        SKILL_RETRY_BASE_MS: "5",
        SKILL_RETRY_MAX_MS: "10",
      },
      async () => {
        const res = await invoke("POST", "/api/v1/skills/slack_send/execute", {
          key: t.keys.agent.key,
          body: { args: { text: "hi" } },
        });
        expect(res.status).toBe(502);
        const rows = await rowsOf("tenant_id = $1 and skill_id = 'slack_send'", [t.tenant.id]);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          error_code: "skills.upstream_error",
          catalog_entry_id: "slack.rate_limited",
          match_type: "exact_code",
          category: "rate_limit",
          is_retryable: true,
        });
        expect(rows[0]?.context_json).toMatchObject({ execution_id: expect.any(String) });
      },
    );
  });

  it("the failing call does not wait for its record; the invocation does (a locked table holds the write)", async () => {
    const slack = track(await startSlackServer());
    slack.always({ status: 400, body: "invalid_payload" });
    // Another session holds failure_matches locked: the record's INSERT waits for it.
    const locker = new pg.Client({ connectionString: config().databaseMigrationUrl });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table failure_matches in access exclusive mode");
      // An awaited record would hold the call for its budget (5 s here) before queueing.
      const cfg = { SLACK_WEBHOOK_URL: slack.url, SKILL_OUTBOUND_ALLOW_HOSTS: "", FAILURE_PERSIST_TIMEOUT_MS: "5000" };
      await withConfig(cfg, async () => {
        // Core alone: the call fails at once, its record still being written (the lock is held).
        const t0 = performance.now();
        const err = await withContext(
          {
            requestId: "bg",
            correlationId: "bg",
            actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
          },
          () => Skills.execute("slack_send", { text: "core" }).catch((e: unknown) => e),
        );
        const callMs = performance.now() - t0;
        expect(err).toBeInstanceOf(UpstreamError);
        expect(callMs).toBeLessThan(2_000);
        expect(backgroundPending()).toBe(1);
        // Over HTTP: the lock goes 1 s after the request starts, and the reply waits until the
        // kit has settled the writes (this one's and the one above).
        const started = performance.now();
        setTimeout(() => void locker.query("commit"), 1_000);
        const res = await invoke("POST", "/api/v1/skills/slack_send/execute", {
          key: t.keys.agent.key,
          body: { args: { text: "http" } },
        });
        expect(res.status).toBe(502);
        expect(backgroundPending()).toBe(0);
        expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
      });
    } finally {
      await locker.end();
    }
    const rows = await rowsOf("tenant_id = $1 and skill_id = 'slack_send' and error_message like '%400%'", [
      t.tenant.id,
    ]);
    expect(rows).toHaveLength(2);
  });

  it("an external job item its worker fails for good is recorded against its job", async () => {
    const spawn = await invoke("POST", "/api/v1/jobs", {
      key: t.keys.agent.key,
      body: { task: "external", items: [{ input: { n: 1 } }], credits_per_item: 1 },
    });
    expect(spawn.status).toBe(201);
    const job = spawn.body.id as string;
    const claim = await invoke("POST", `/api/v1/jobs/${job}/claim`, {
      key: t.keys.agent.key,
      body: { worker_id: "w1" },
    });
    const item = claim.body.items[0].id as string;
    const fail = await invoke("POST", `/api/v1/items/${item}/fail`, {
      key: t.keys.agent.key,
      body: {
        worker_id: "w1",
        error: { code: "skills.upstream_timeout", message: "voyage did not answer within 10000 ms" },
        retryable: false,
      },
    });
    expect(fail.status).toBe(200);
    const rows = await rowsOf("run_id = $1", [job]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: t.tenant.id,
      skill_id: "external",
      error_code: "skills.upstream_timeout",
      catalog_entry_id: "upstream.timeout",
    });
    expect(rows[0]?.context_json).toMatchObject({ item_id: item, final: true });
  });

  it("a poisoned queue message is recorded once in queue_failures and in failure_matches", async () => {
    const { handler } = await import("../../functions/queue/events.ts");
    const event = sqsEvent(["{not json"]);
    const id = event.Records[0]?.messageId as string;
    await handler(event, lambdaContext());
    await handler(event, lambdaContext()); // redelivered: recorded once
    expect((await query("select 1 from queue_failures where message_id = $1", [id])).rows).toHaveLength(1);
    const rows = await rowsOf("run_id = $1", [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ context_json: expect.objectContaining({ queue: "Events" }) });
    expect(rows[0]?.catalog_entry_id).not.toBeNull();
  });
});

describe("an item whose lease expired on its last attempt", () => {
  it("is recorded by the sweeper against its job and tenant, matched to capacity.lease_expired", async () => {
    const spawn = await invoke("POST", "/api/v1/jobs", {
      key: t.keys.agent.key,
      body: { task: "external", items: [{ input: { n: 1 } }], credits_per_item: 1, max_attempts: 1 },
    });
    expect(spawn.status).toBe(201);
    const job = spawn.body.id as string;
    const claim = await invoke("POST", `/api/v1/jobs/${job}/claim`, {
      key: t.keys.agent.key,
      body: { worker_id: "w1" },
    });
    const item = claim.body.items[0].id as string;
    await query("update job_items set lease_until = now() - interval '1 minute' where id = $1", [item]);
    await withContext({ requestId: "s", correlationId: "s", actor: { type: "system", name: "sweep" } }, () =>
      Jobs.sweep(),
    );
    const rows = await rowsOf("run_id = $1", [job]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: t.tenant.id,
      error_code: "jobs.lease_expired",
      catalog_entry_id: "capacity.lease_expired",
      match_type: "exact_code",
    });
    expect(rows[0]?.context_json).toMatchObject({ item_id: item, final: true });
  });
});

describe("POST /api/v1/jobs/simulate", () => {
  it("lists the task's most frequent catalogued failures of the last 7 days among its risks", async () => {
    const other = await makeTenantWithKeys();
    const asOther = <T>(fn: () => Promise<T>) =>
      withContext(
        { requestId: "s", correlationId: "s", actor: { type: "system", name: "w", tenantId: other.tenant.id } },
        fn,
      );
    const rate = () => new UpstreamError("slack", "slack answered 429", { retryable: true, status: 429 });
    for (let i = 0; i < 3; i++)
      await asOther(() => Failures.record({ error: rate(), runId: `r${i}`, skillId: "slack_send" }));
    await asOther(() => Failures.record({ error: new Error("zzz qqq"), runId: "r9", skillId: "slack_send" }));
    const res = await invoke("POST", "/api/v1/jobs/simulate", {
      key: other.keys.agent.key,
      body: { task: "slack_send", items: [{ input: { text: "hi" } }] },
    });
    expect(res.status).toBe(200);
    const frequent = res.body.risks.filter((r: { code: string }) => r.code === "failures.frequent");
    expect(frequent).toEqual([
      {
        code: "failures.frequent",
        message:
          "slack_send failed with slack.rate_limited 3 times in the last 7 days (75% of its recorded failures); recovery: retry_later",
      },
    ]);
    // Another tenant's failures are not its risks.
    const mine = await invoke("POST", "/api/v1/jobs/simulate", {
      key: t.keys.agent.key,
      body: { task: "kv_store", items: [{ input: { op: "get", key: "k" } }] },
    });
    expect(mine.body.risks.filter((r: { code: string }) => r.code === "failures.frequent")).toEqual([]);
  });
});
