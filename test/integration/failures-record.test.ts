/**
 * Failures.record on real Postgres, Redis and SQS (fauxqs): a failure is classified and written
 * with its tenant; the application role may change only the recovery columns; with Postgres not
 * answering (the TCP fault proxy holds every byte) a failing call still returns within
 * FAILURE_PERSIST_TIMEOUT_MS + 100 ms and its record, queued, is written by the FailureRecords
 * consumer once Postgres answers again; a table that stays locked opens the failure_persistence
 * breaker after 5 timeouts, and records then go straight to the queue.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startFaultProxy } from "../../bench/fault-proxy.ts";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as Failures from "../../core/failures/index.ts";
import { toMessage, writeRecord } from "../../core/failures/record.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { lambdaContext, sqsEvent } from "../events/index.ts";
import { makeTenant } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { testDb } from "../setup/per-file.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

const env = inject("aos");
/** A connection of its own (the owner's superuser), straight to Postgres: never through the proxy. */
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: `${env.pgBase}/${testDb}`, application_name: "aos-test-admin" });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

const asTenant = <T>(tenantId: string, fn: () => Promise<T>) =>
  withContext(
    { requestId: "r1", correlationId: "c1", actor: { type: "key", keyId: "k1", tenantId, role: "agent" } },
    fn,
  );

const slack429 = () =>
  new UpstreamError("slack", "slack answered 429", { retryable: true, status: 429, retryAfterMs: 1000 });

/** A call that fails the way skills do, recording its failure in its catch. */
async function failingCall(runId: string): Promise<{ err: unknown; recorded: Failures.Recorded; ms: number }> {
  const t0 = performance.now();
  let recorded: Failures.Recorded | undefined;
  const err = await (async () => {
    try {
      throw slack429();
    } catch (e) {
      recorded = await Failures.record({ error: e, runId, skillId: "slack_send", stepIndex: 0 });
      throw e;
    }
  })().catch((e: unknown) => e);
  return { err, recorded: recorded as Failures.Recorded, ms: performance.now() - t0 };
}

const row = async (id: string) =>
  (await admin.query("select * from failure_matches where id = $1", [id])).rows[0] as
    | Record<string, unknown>
    | undefined;

describe("Failures.record, Postgres healthy", () => {
  it("writes the classified failure with the caller's tenant and its context", async () => {
    const t = await makeTenant();
    const r = await asTenant(t.id, () => failingCall("job-1"));
    expect(r.err).toBeInstanceOf(UpstreamError);
    expect(r.recorded.outcome).toBe("written");
    expect(await row(r.recorded.id)).toMatchObject({
      tenant_id: t.id,
      run_id: "job-1",
      error_code: "skills.upstream_error",
      error_message: "slack answered 429",
      catalog_entry_id: "slack.rate_limited",
      match_type: "exact_code",
      match_confidence: 1,
      category: "rate_limit",
      severity: "medium",
      is_retryable: true,
      recovery_mode: "retry_later",
      recovery_attempted: false,
      recovery_succeeded: false,
      skill_id: "slack_send",
      step_index: 0,
    });
    expect((await row(r.recorded.id))?.context_json).toMatchObject({
      match_explanation: expect.stringContaining("429"),
    });
  });

  it("records a miss as a row without an entry; with no tenant in context, under the platform tenant", async () => {
    const r = await Failures.record({ error: new Error("zzz qqq"), runId: "msg-1" });
    expect(r.outcome).toBe("written");
    expect(await row(r.id)).toMatchObject({
      tenant_id: SYSTEM_TENANT_ID,
      error_code: "Error",
      catalog_entry_id: null,
      match_type: "miss",
      match_confidence: 0,
    });
  });

  it("never throws, whatever is thrown at it", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const error of [undefined, null, 42, "a string", cyclic, Object.create(null)]) {
      const r = await Failures.record({ error, runId: "odd" });
      expect(["written", "dropped"]).toContain(r.outcome);
    }
  });

  it("lets the application role change the recovery columns and nothing else (it may delete: retention)", async () => {
    const r = await Failures.record({ error: slack429(), runId: "job-2" });
    const app = new pg.Client({ connectionString: config().databaseUrl });
    await app.connect();
    try {
      const ok = await app.query(
        "update failure_matches set recovery_attempted = true, recovery_succeeded = true, recovered_by = 'key:k', recovered_at = now(), recovery_notes = 'n', updated_at = now() where id = $1",
        [r.id],
      );
      expect(ok.rowCount).toBe(1);
      for (const sql of [
        "update failure_matches set error_code = 'forged' where id = $1",
        "update failure_matches set catalog_entry_id = 'forged' where id = $1",
      ]) {
        await expect(app.query(sql, [r.id]), sql).rejects.toThrow(/permission denied/);
      }
    } finally {
      await app.end();
    }
  });
});

describe("Failures.record, Postgres not answering (fault proxy)", () => {
  it("returns within 2 s + 100 ms, queues the record, and the consumer writes it once Postgres answers", async () => {
    const proxy = await startFaultProxy({ host: "127.0.0.1", port: Number(new URL(env.pgBase).port || 5432) });
    const url = new URL(config().databaseUrl);
    url.host = proxy.address;
    const t = await makeTenant();
    try {
      await withConfig({ DATABASE_URL: url.toString() }, async () => {
        // Warm: a connection in the pool and the breaker's copy in Redis.
        expect((await asTenant(t.id, () => failingCall("warm"))).recorded.outcome).toBe("written");
        await proxy.freeze();
        const r = await asTenant(t.id, () => failingCall("frozen"));
        console.log(`failing call with Postgres frozen: ${r.ms.toFixed(0)} ms, record ${r.recorded.outcome}`);
        expect(r.err).toBeInstanceOf(UpstreamError);
        expect(r.ms).toBeLessThanOrEqual(config().failures.persistTimeoutMs + 100);
        expect(r.recorded.outcome).toBe("queued");
        expect(await row(r.recorded.id)).toBeUndefined();

        const queued = await takeMessages<Failures.FailureRecordMessage>("FailureRecords", 1);
        expect(queued.map((q) => q.id)).toEqual([r.recorded.id]);
        await proxy.pass();
        const { handler } = await import("../../functions/queue/failure-records.ts");
        // Delivered twice (a lost acknowledgement): one row.
        const res = await handler(sqsEvent([queued[0], queued[0]]), lambdaContext());
        expect(res.batchItemFailures).toEqual([]);
        expect(await row(r.recorded.id)).toMatchObject({
          tenant_id: t.id,
          run_id: "frozen",
          catalog_entry_id: "slack.rate_limited",
        });
        const n = await admin.query("select count(*)::int as n from failure_matches where run_id = 'frozen'");
        expect(n.rows[0].n).toBe(1);
      });
    } finally {
      await proxy.pass();
      await proxy.close();
    }
  });

  it("a consumer meeting Postgres still away answers retry, never drops the record", async () => {
    const proxy = await startFaultProxy({ host: "127.0.0.1", port: Number(new URL(env.pgBase).port || 5432) });
    const url = new URL(config().databaseUrl);
    url.host = proxy.address;
    const t = await makeTenant();
    try {
      await withConfig({ DATABASE_URL: url.toString(), DB_CONNECT_TIMEOUT_MS: "300" }, async () => {
        await proxy.refuse();
        const r = await asTenant(t.id, () => failingCall("refused"));
        expect(r.recorded.outcome).toBe("queued");
        const queued = await takeMessages<Failures.FailureRecordMessage>("FailureRecords", 1);
        const { handler } = await import("../../functions/queue/failure-records.ts");
        const event = sqsEvent(queued);
        const res = await handler(event, lambdaContext());
        expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
        expect(await row(r.recorded.id)).toBeUndefined();
      });
    } finally {
      await proxy.pass();
      await proxy.close();
    }
  });
});

describe("the failure_persistence breaker", () => {
  it("opens after 5 writes that did not finish in time (table locked); records then go to the queue at once", async () => {
    await withConfig({ FAILURE_PERSIST_TIMEOUT_MS: "400" }, async () => {
      await admin.query("begin");
      await admin.query("lock table failure_matches in access exclusive mode");
      try {
        for (let i = 0; i < 5; i++) {
          const r = await Failures.record({ error: slack429(), runId: `locked-${i}` });
          expect(r.outcome).toBe("queued");
        }
        // The breaker hears of each timeout in the background: wait until it opened.
        for (let i = 0; i < 50; i++) {
          const { rows } = await admin.query(
            "select state from circuit_breaker_state where kind = 'failure_persistence' and target = 'failure_matches'",
          );
          if (rows[0]?.state === "OPEN") break;
          await new Promise((res) => setTimeout(res, 50));
        }
        const state = await admin.query(
          "select state from circuit_breaker_state where kind = 'failure_persistence' and target = 'failure_matches'",
        );
        expect(state.rows[0]?.state).toBe("OPEN");
        const t0 = performance.now();
        const r = await Failures.record({ error: slack429(), runId: "while-open" });
        const ms = performance.now() - t0;
        expect(r.outcome).toBe("queued");
        expect(ms).toBeLessThan(300);
      } finally {
        await admin.query("rollback");
      }
      const queued = await takeMessages<Failures.FailureRecordMessage>("FailureRecords", 6);
      expect(queued.map((q) => q.runId).sort()).toEqual(
        ["locked-0", "locked-1", "locked-2", "locked-3", "locked-4", "while-open"].sort(),
      );
    });
  });
});

describe("retention", () => {
  it("the FailureRetention cron deletes records older than FAILURE_RETENTION_DAYS and keeps the rest", async () => {
    // Written directly: the breaker test above left the failure_persistence breaker open.
    const write = async (runId: string) => {
      const id = randomUUID();
      const error = slack429();
      await writeRecord(toMessage({ error, runId }, await Failures.classify(error), id, new Date()));
      return { id };
    };
    const old = await write("retention-old");
    const recent = await write("retention-recent");
    expect(await row(old.id)).toBeDefined();
    await admin.query("update failure_matches set created_at = now() - interval '91 days' where id = $1", [old.id]);
    const { handler } = await import("../../functions/cron/failure-retention.ts");
    await handler({}, lambdaContext());
    expect(await row(old.id)).toBeUndefined();
    expect(await row(recent.id)).toBeDefined();
    await withConfig({ FAILURE_RETENTION_DAYS: "1" }, async () => {
      await admin.query("update failure_matches set created_at = now() - interval '2 days' where id = $1", [recent.id]);
      expect(await Failures.deleteExpired()).toMatchObject({ deleted: expect.any(Number), more: false });
    });
    expect(await row(recent.id)).toBeUndefined();
  });
});
