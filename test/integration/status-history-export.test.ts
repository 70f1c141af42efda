/**
 * Status history exports end to end against real Postgres, s3rver and fauxqs: the HTTP create,
 * the queue message, the worker's COPY -> gzip -> multipart upload, the presigned download (plain
 * fetch of the 302's location), redelivery after S3 failures, and the sweeper.
 */
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { parse as parseCsv } from "csv-parse/sync";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { type CopySetting, copyOut, pool, query, settingPlaceholder } from "../../core/platform/db/index.ts";
import { getObject, headObject } from "../../core/platform/storage.ts";
import * as StatusHistory from "../../core/status-history/index.ts";
import { handler as sweepHandler } from "../../functions/cron/status-history-export-sweep.ts";
import { handler as exportHandler } from "../../functions/queue/status-history-export.ts";
import { invoke, lambdaContext, scheduledEvent, sqsEvent } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { type HttpProxy, type ProxiedRequest, startHttpProxy } from "../setup/http-proxy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let other: Tenant;

const asSystem = <T>(fn: () => Promise<T>, correlationId = "seed") =>
  withContext({ requestId: "seed", correlationId, actor: { type: "system", name: "test" } }, fn);

/** Rows a CSV or JSON writer can get wrong: separators, quotes, line breaks, formulas, NULLs, control characters. */
const tricky = [
  { entity_id: "job-1", new_status: "queued", reason: "plain" },
  { entity_id: "a,b", old_status: "queued", new_status: "run,ning", reason: 'say "hi", then, leave' },
  { entity_id: "multi", old_status: null, new_status: "done", reason: "line one\nline two\r\nline three" },
  { entity_id: "emoji-🚀", new_status: "✅ done", reason: "ünïcödé 日本語 🎉", metadata: { note: "🙂" } },
  { entity_id: "=1+2", new_status: "=SUM(A1:A9)", reason: '=HYPERLINK("http://x","y")', actor: "=cmd|' /C calc'!A0" },
  { entity_id: "+1", new_status: "+up", reason: "+plus", actor: "@admin" },
  { entity_id: "-1", new_status: "-down", reason: "-minus" },
  { entity_id: "@at", new_status: "@x", reason: "\tleading tab" },
  { entity_id: "cr", new_status: "cr", reason: "\rleading carriage return" },
  { entity_id: "nulls", old_status: null, new_status: "x", reason: null },
  {
    entity_id: "ctl",
    new_status: "ctl",
    reason: "ctl \u0001 \u0002 tab\there back\\slash\nnewline \\N \\. end",
    metadata: {
      ctl: "\u0001\u0002\u001f",
      tab: "a\tb",
      nl: "a\nb",
      bs: "C:\\dir\\",
      q: '"quoted"',
      nested: { n: [1, null] },
    },
  },
  { entity_id: "empty", new_status: "x", reason: "" },
];

async function seed(tenantId: string): Promise<void> {
  for (const [i, row] of tricky.entries()) {
    await asSystem(
      () => StatusHistory.record({ tenant_id: tenantId, entity_type: "job", ...row }),
      i === 4 ? "+corr,1" : `corr-${i}`,
    );
  }
  // Older rows inserted later, with ids out of time order: the file follows created_at, then id.
  await query(
    `insert into status_history (tenant_id, entity_type, entity_id, new_status, actor, created_at)
     values ($1, 'item', 'late', 'old', 'system:test', now() - interval '1 day'),
            ($1, 'item', 'late', 'older', 'system:test', now() - interval '2 days')`,
    [tenantId],
  );
}

beforeAll(async () => {
  t = await makeTenantWithKeys();
  other = await makeTenantWithKeys();
  await seed(t.tenant.id);
  await seed(other.tenant.id);
});

const sqs = () =>
  new SQSClient({
    endpoint: config().sqs.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });

/** Every message waiting on the exports queue (deleted as read). */
async function drainQueue(): Promise<{ v: number; exportId: string; tenantId: string }[]> {
  const client = sqs();
  const url = config().sqs.queueUrls.StatusHistoryExports as string;
  const out: { v: number; exportId: string; tenantId: string }[] = [];
  for (;;) {
    const r = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!r.Messages?.length) break;
    for (const m of r.Messages) {
      out.push(JSON.parse(m.Body as string));
      await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  client.destroy();
  return out;
}

async function create(body: Record<string, unknown>, key = t.keys.operator.key) {
  const res = await invoke("POST", "/api/v1/status_history/export", { key, body });
  expect(res.status, res.text).toBe(202);
  return res.body as { id: string; tenant_id: string; status: string };
}

const deliver = (exportId: string, tenantId = t.tenant.id) =>
  exportHandler(sqsEvent([{ v: 1, tenantId, exportId }]), lambdaContext());

const row = async (id: string) =>
  (await query<any>("select * from status_history_exports where id = $1", [id])).rows[0];

const history = async (id: string) =>
  (
    await query<{ old_status: string | null; new_status: string; reason: string | null }>(
      "select old_status, new_status, reason from status_history where entity_type = 'export' and entity_id = $1 order by id",
      [id],
    )
  ).rows;
const transitions = async (id: string) => (await history(id)).map((h) => `${h.old_status ?? "null"}->${h.new_status}`);

async function download(id: string): Promise<{ bytes: Buffer; url: string }> {
  const res = await invoke("GET", `/api/v1/status_history/download/${id}`, { key: t.keys.viewer.key });
  expect(res.status, res.text).toBe(302);
  expect(res.headers["cache-control"]).toBe("no-store");
  const got = await fetch(res.headers.location as string);
  expect(got.status).toBe(200);
  return { bytes: Buffer.from(await got.arrayBuffer()), url: res.headers.location as string };
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The table's rows of the export, in the API's wire shape, straight from Postgres. */
async function expected(id: string) {
  const e = await row(id);
  const { rows } = await query<any>(
    `select id, tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata, correlation_id,
       metadata::text as metadata_text,
       replace((created_at at time zone 'UTC')::text, ' ', 'T') || 'Z' as created_at
     from status_history where tenant_id = $1 and id <= $2 and created_at < $3 order by created_at, id`,
    [e.tenant_id, e.max_id, e.filters.until],
  );
  return rows;
}

/** OWASP CSV-injection neutralisation, as documented: a leading quote before = + - @ tab CR. */
const neutral = (v: string | null) => (v === null ? "" : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
const COLUMNS = [
  "id",
  "tenant_id",
  "entity_type",
  "entity_id",
  "old_status",
  "new_status",
  "actor",
  "reason",
  "metadata",
  "correlation_id",
  "created_at",
];

describe("export files", () => {
  for (const format of ["csv", "jsonl"] as const) {
    for (const gzip of [false, true]) {
      it(`${format}${gzip ? " gzip" : ""}: downloads through the presigned URL and matches the table row for row`, async () => {
        await drainQueue();
        const created = await create({ format, gzip });
        expect(created).toMatchObject({ status: "pending", tenant_id: t.tenant.id, format, gzip, row_count: null });
        // The message really went to the queue; deliver what SQS holds.
        const sent = await drainQueue();
        expect(sent).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: created.id }]);
        expect((await exportHandler(sqsEvent(sent), lambdaContext())).batchItemFailures).toEqual([]);

        const got = await invoke("GET", `/api/v1/status_history/exports/${created.id}`, { key: t.keys.viewer.key });
        expect(got.body).toMatchObject({ status: "ready", attempts: 1, last_error: null });
        const { bytes, url } = await download(created.id);
        const key = `exports/status-history/${t.tenant.id}/${created.id}.${format}${gzip ? ".gz" : ""}`;
        expect(new URL(url).pathname).toContain(key);
        expect(new URL(url).searchParams.get("response-content-disposition")).toContain(
          `status-history-${created.id}.${format}${gzip ? ".gz" : ""}`,
        );
        expect(bytes.length).toBe(got.body.bytes);
        expect(sha256(bytes)).toBe(got.body.sha256);
        if (gzip) expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
        const text = (gzip ? gunzipSync(bytes) : bytes).toString("utf8");

        const want = await expected(created.id);
        // The seeded rows, and the history of the exports before this one (exports are entities too).
        expect(want.length).toBeGreaterThanOrEqual(tricky.length + 2);
        expect(got.body.row_count).toBe(want.length);
        if (format === "csv") {
          const records: string[][] = parseCsv(text, { relax_column_count: false });
          expect(records[0]).toEqual(COLUMNS);
          expect(records.slice(1)).toEqual(
            want.map((w) => [
              String(w.id),
              w.tenant_id,
              neutral(w.entity_type),
              neutral(w.entity_id),
              neutral(w.old_status),
              neutral(w.new_status),
              neutral(w.actor),
              neutral(w.reason),
              w.metadata_text,
              neutral(w.correlation_id),
              w.created_at,
            ]),
          );
          expect(text).toContain("'=SUM(A1:A9)");
        } else {
          expect(text.endsWith("\n")).toBe(true);
          const lines = text.slice(0, -1).split("\n");
          expect(lines.map((l) => JSON.parse(l))).toEqual(want.map(({ metadata_text: _m, ...w }) => w));
          for (const l of lines) expect(Object.keys(JSON.parse(l))).toEqual(COLUMNS);
          // Nothing was quoted or escaped by COPY: the control characters are JSON escapes.
          for (const c of ["\u0001", "\u0002", "\r"]) expect(text.includes(c)).toBe(false);
          expect(text).toContain("ctl \\u0001 \\u0002 tab\\there back\\\\slash\\nnewline \\\\N \\\\. end");
        }

        const manifest = JSON.parse(
          Buffer.concat(await (await getObject(`${key}.manifest.json`)).body.toArray()).toString("utf8"),
        );
        expect(manifest).toMatchObject({
          export_id: created.id,
          tenant_id: t.tenant.id,
          format,
          gzip,
          columns: COLUMNS,
          row_count: want.length,
          bytes: bytes.length,
          sha256: sha256(bytes),
        });
        expect(manifest.filters.until).toBe(new Date((await row(created.id)).filters.until).toISOString());
        expect(Date.parse(manifest.generated_at)).toBeGreaterThan(0);
        expect(await transitions(created.id)).toEqual(["null->pending", "pending->running", "running->ready"]);
      });
    }
  }

  it("exports only the filtered rows committed when it was asked for; values never reach the SQL text", async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const created = await create({ format: "jsonl", filters: { entity_type: "job", new_status: "x", until } });
    const injected = await create({
      format: "csv",
      filters: { entity_id: "x' or '1'='1", actor: "'); drop table status_history; --" },
    });
    // Recorded after the request, inside its window: not in the file.
    await asSystem(() =>
      StatusHistory.record({ tenant_id: t.tenant.id, entity_type: "job", entity_id: "new", new_status: "x" }),
    );
    await deliver(created.id);
    await deliver(injected.id);
    const lines = (await download(created.id)).bytes
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.entity_id)).toEqual(["nulls", "empty"]);
    expect((await row(injected.id)).row_count).toBe(0);
    expect((await download(injected.id)).bytes.toString("utf8")).toBe(`${COLUMNS.join(",")}\n`);
    expect((await query("select 1 from status_history limit 1")).rowCount).toBe(1);
  });
});

describe("presigned URL", () => {
  it("is refused by S3 once PRESIGN_TTL_S passed", async () => {
    const created = await create({ format: "csv" });
    await deliver(created.id);
    await withConfig({ PRESIGN_TTL_S: "1" }, async () => {
      const res = await invoke("GET", `/api/v1/status_history/download/${created.id}`, { key: t.keys.viewer.key });
      const url = res.headers.location as string;
      expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("1");
      expect((await fetch(url)).status).toBe(200);
      await sleep(2_500);
      const late = await fetch(url);
      expect(late.status).toBe(403);
      expect(await late.text()).toContain("Request has expired");
    });
  });
});

const isPart = (r: ProxiedRequest, n: number) =>
  r.method === "PUT" && new RegExp(`[?&]partNumber=${n}(&|$)`).test(r.url);
const uploadParts = (p: HttpProxy, n: number) => p.requests.filter((r) => isPart(r, n));
const s3Down = {
  status: 503,
  headers: { "content-type": "application/xml" },
  body: "<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>",
};
const s3Denied = {
  status: 403,
  headers: { "content-type": "application/xml" },
  body: "<Error><Code>AccessDenied</Code><Message>no</Message></Error>",
};

async function listKeys(prefix: string): Promise<string[]> {
  const s3 = new S3Client({
    endpoint: config().s3.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  const r = await s3.send(new ListObjectsV2Command({ Bucket: config().s3.bucket, Prefix: prefix }));
  s3.destroy();
  return (r.Contents ?? []).map((o) => o.Key as string).sort();
}

describe("failures and redelivery", () => {
  it("an upload killed mid-way is retried through SQS redelivery, completes once, and is never half ready", async () => {
    const big = await makeTenantWithKeys();
    // ~12.5 MB of CSV: more than one 8 MiB part.
    await query(
      `insert into status_history (tenant_id, entity_type, entity_id, new_status, actor, reason)
       select $1, 'job', 'big-' || g, 'done', 'system:test', repeat(md5(g::text), 60) from generate_series(1, 6500) g`,
      [big.tenant.id],
    );
    const created = await create({ format: "csv" }, big.keys.operator.key);
    const key = `exports/status-history/${big.tenant.id}/${created.id}.csv`;
    const proxy = await startHttpProxy(config().s3.endpoint as string);
    let failing = true;
    proxy.intercept = (req) => (failing && isPart(req, 2) ? { reply: s3Down } : undefined);
    try {
      await withConfig({ S3_ENDPOINT: proxy.url }, async () => {
        const first = await deliver(created.id, big.tenant.id);
        expect(first.batchItemFailures).toHaveLength(1);
        expect(await row(created.id)).toMatchObject({
          status: "pending",
          attempts: 1,
          lease_until: null,
          row_count: null,
        });
        expect((await row(created.id)).last_error).toMatch(/^s3\.unavailable: S3 answered 503/);
        expect(uploadParts(proxy, 1)).toHaveLength(1);
        expect(uploadParts(proxy, 2).length).toBeGreaterThanOrEqual(1);
        expect(proxy.requests.some((r) => r.method === "POST" && /[?&]uploadId=/.test(r.url))).toBe(false);
        await expect(headObject(key)).rejects.toMatchObject({ code: "s3.not_found" });
        await expect(headObject(`${key}.manifest.json`)).rejects.toMatchObject({ code: "s3.not_found" });
        expect(await history(created.id)).toMatchObject([
          { old_status: null, new_status: "pending" },
          { old_status: "pending", new_status: "running" },
          {
            old_status: "running",
            new_status: "pending",
            reason: expect.stringMatching(/^attempt 1 failed: s3\.unavailable/),
          },
        ]);

        failing = false;
        expect((await deliver(created.id, big.tenant.id)).batchItemFailures).toEqual([]);
        const done = await row(created.id);
        // The 6,500 rows, after the tenant's and its 4 keys' creation.
        expect(done).toMatchObject({ status: "ready", attempts: 2, row_count: 6505, last_error: null });
        expect(await listKeys(`exports/status-history/${big.tenant.id}/`)).toEqual([key, `${key}.manifest.json`]);
        const res = await invoke("GET", `/api/v1/status_history/download/${created.id}`, { key: big.keys.viewer.key });
        const bytes = Buffer.from(await (await fetch(res.headers.location as string)).arrayBuffer());
        expect(bytes.length).toBe(done.bytes);
        expect(bytes.length).toBeGreaterThan(8 * 1024 * 1024);
        expect(sha256(bytes)).toBe(done.sha256);
        const records: string[][] = parseCsv(bytes);
        expect(records).toHaveLength(6506);
        expect(records[6505]?.[3]).toBe("big-6500");
        expect((await transitions(created.id)).slice(3)).toEqual(["pending->running", "running->ready"]);

        // A duplicate delivery of a ready export does nothing: no upload, no history, same object.
        const before = { head: await headObject(key), requests: proxy.requests.length };
        expect((await deliver(created.id, big.tenant.id)).batchItemFailures).toEqual([]);
        expect(proxy.requests.length).toBe(before.requests);
        expect((await headObject(key)).etag).toBe(before.head.etag);
        expect(await row(created.id)).toMatchObject({ status: "ready", attempts: 2 });
        expect(await history(created.id)).toHaveLength(5);
      });
    } finally {
      await proxy.close();
    }
  });

  it("concurrent deliveries of one export produce one attempt and one object", async () => {
    const created = await create({ format: "jsonl", gzip: true });
    const results = await Promise.all([deliver(created.id), deliver(created.id), deliver(created.id)]);
    // Each duplicate either found the live lease (retried later) or the finished export (no-op).
    expect(results.flatMap((r) => r.batchItemFailures).length).toBeLessThanOrEqual(2);
    expect(await row(created.id)).toMatchObject({ status: "ready", attempts: 1 });
    expect(await transitions(created.id)).toEqual(["null->pending", "pending->running", "running->ready"]);
    const prefix = `exports/status-history/${t.tenant.id}/${created.id}`;
    expect(await listKeys(prefix)).toEqual([`${prefix}.jsonl.gz`, `${prefix}.jsonl.gz.manifest.json`]);
  });

  it("a delivery while another worker holds the lease is retried; after the lease ends it takes over", async () => {
    const created = await create({ format: "csv" });
    // Another worker claimed attempt 1 and holds the lease.
    await query(
      "update status_history_exports set status = 'running', attempts = 1, lease_until = now() + interval '960 seconds' where id = $1",
      [created.id],
    );
    const busy = await deliver(created.id);
    expect(busy.batchItemFailures).toHaveLength(1);
    expect(await row(created.id)).toMatchObject({ status: "running", attempts: 1 });
    await expect(headObject(`exports/status-history/${t.tenant.id}/${created.id}.csv`)).rejects.toMatchObject({
      code: "s3.not_found",
    });
    // That worker died: its lease ended. The next delivery takes over as attempt 2.
    await query("update status_history_exports set lease_until = now() - interval '1 second' where id = $1", [
      created.id,
    ]);
    expect((await deliver(created.id)).batchItemFailures).toEqual([]);
    expect(await row(created.id)).toMatchObject({ status: "ready", attempts: 2 });
    expect(await history(created.id)).toMatchObject([
      { new_status: "pending" },
      { old_status: "running", new_status: "running", reason: "the lease of attempt 1 ended; taken over" },
      { old_status: "running", new_status: "ready" },
    ]);
  });

  it("fails an export whose last attempt's worker died instead of running it again", async () => {
    const created = await create({ format: "csv" });
    await query(
      "update status_history_exports set status = 'running', attempts = $2, lease_until = now() - interval '1 second' where id = $1",
      [created.id, config().exports.maxAttempts],
    );
    expect((await deliver(created.id)).batchItemFailures).toEqual([]);
    const failed = await row(created.id);
    expect(failed).toMatchObject({ status: "failed", attempts: config().exports.maxAttempts, lease_until: null });
    expect(failed.last_error).toBe(`attempt ${config().exports.maxAttempts} did not finish before its lease ended`);
    expect((await transitions(created.id)).at(-1)).toBe("running->failed");
  });

  it("fails the export after EXPORT_MAX_ATTEMPTS failed attempts and acknowledges the message", async () => {
    const created = await create({ format: "csv", gzip: true });
    const proxy = await startHttpProxy(config().s3.endpoint as string);
    proxy.intercept = (req) => (req.method === "PUT" ? { reply: s3Denied } : undefined);
    try {
      await withConfig({ S3_ENDPOINT: proxy.url, EXPORT_MAX_ATTEMPTS: "2" }, async () => {
        expect((await deliver(created.id)).batchItemFailures).toHaveLength(1);
        expect(await row(created.id)).toMatchObject({ status: "pending", attempts: 1 });
        expect((await deliver(created.id)).batchItemFailures).toEqual([]);
        const failed = await row(created.id);
        expect(failed).toMatchObject({ status: "failed", attempts: 2, lease_until: null, row_count: null });
        expect(failed.last_error).toBe("s3.error: S3 upload failed: AccessDenied (403) (no)");
        expect(await transitions(created.id)).toEqual([
          "null->pending",
          "pending->running",
          "running->pending",
          "pending->running",
          "running->failed",
        ]);
        // Terminal: another delivery changes nothing, and there is nothing to download.
        expect((await deliver(created.id)).batchItemFailures).toEqual([]);
        expect(await row(created.id)).toMatchObject({ status: "failed", attempts: 2 });
        const res = await invoke("GET", `/api/v1/status_history/download/${created.id}`, { key: t.keys.viewer.key });
        expect(res.status).toBe(409);
        expect(res.body.error).toMatchObject({
          code: "status_history.export_not_ready",
          details: { status: "failed" },
        });
      });
    } finally {
      await proxy.close();
    }
  });

  it("runs a v0 message ({exportId, tenantId}, no v) still in the queue after a deploy; refuses an unknown version", async () => {
    const created = await create({ format: "csv" });
    const event = sqsEvent([{ exportId: created.id, tenantId: t.tenant.id }]);
    expect((await exportHandler(event, lambdaContext())).batchItemFailures).toEqual([]);
    expect(await row(created.id)).toMatchObject({ status: "ready", attempts: 1 });
    const v2 = sqsEvent([{ v: 2, exportId: created.id, tenantId: t.tenant.id }]);
    expect((await exportHandler(v2, lambdaContext())).batchItemFailures).toEqual([]);
    const { rows } = await query("select tenant_id, error_code from queue_failures where message_id = $1", [
      v2.Records[0]?.messageId,
    ]);
    expect(rows).toEqual([{ tenant_id: t.tenant.id, error_code: "validation.invalid_input" }]);
  });

  it("a message for an export that does not exist is a permanent failure, recorded and acknowledged", async () => {
    const ghost = randomUUID();
    expect((await deliver(ghost)).batchItemFailures).toEqual([]);
    const { rows } = await query("select tenant_id, error_code from queue_failures where body like $1", [`%${ghost}%`]);
    expect(rows).toEqual([{ tenant_id: t.tenant.id, error_code: "status_history.export_not_found" }]);
  });
});

describe("sweeper", () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock(Date.now());
    setClock(clock);
  });
  afterEach(() => setClock(systemClock));
  const sweep = () => sweepHandler(scheduledEvent(), lambdaContext());
  const HOUR = 3_600_000;

  it("expires a ready export past its TTL: objects deleted, status expired, download 410", async () => {
    const created = await create({ format: "jsonl" });
    await deliver(created.id);
    const key = `exports/status-history/${t.tenant.id}/${created.id}.jsonl`;
    expect((await row(created.id)).expires_at.getTime()).toBe(clock.nowMs() + config().exports.ttlH * HOUR);
    clock.advance(config().exports.ttlH * HOUR - 1000);
    await sweep();
    expect((await row(created.id)).status).toBe("ready");
    expect(
      (await invoke("GET", `/api/v1/status_history/download/${created.id}`, { key: t.keys.viewer.key })).status,
    ).toBe(302);

    clock.advance(1000);
    // Past its TTL it reads as expired and downloads are gone, before the sweeper ran too.
    const early = await invoke("GET", `/api/v1/status_history/exports/${created.id}`, { key: t.keys.viewer.key });
    expect(early.body.status).toBe("expired");
    expect(
      (await invoke("GET", `/api/v1/status_history/download/${created.id}`, { key: t.keys.viewer.key })).status,
    ).toBe(410);
    await headObject(key);

    const result = await sweep();
    expect(result.expired).toBeGreaterThanOrEqual(1);
    expect(result.deleteFailed).toBe(0);
    expect(await row(created.id)).toMatchObject({ status: "expired", updated_at: clock.now() });
    await expect(headObject(key)).rejects.toMatchObject({ code: "s3.not_found" });
    await expect(headObject(`${key}.manifest.json`)).rejects.toMatchObject({ code: "s3.not_found" });
    expect((await transitions(created.id)).at(-1)).toBe("ready->expired");
    const gone = await invoke("GET", `/api/v1/status_history/download/${created.id}`, { key: t.keys.viewer.key });
    expect(gone.status).toBe(410);
    expect(gone.body.error).toMatchObject({
      code: "status_history.export_expired",
      details: { expired_at: clock.now().toISOString() },
    });
    expect((await sweep()).expired).toBe(0);
    expect(await history(created.id)).toHaveLength(4);
  });

  it("re-sends the message of a pending export nobody picked up, and of a running one whose worker died", async () => {
    await drainQueue();
    const lost = await create({ format: "csv" });
    expect(await drainQueue()).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: lost.id }]); // the message is lost
    await sweep();
    expect(await drainQueue()).toEqual([]);
    clock.advance(21 * 60_000);
    expect((await sweep()).redriven).toBeGreaterThanOrEqual(1);
    expect(await drainQueue()).toContainEqual({ v: 1, tenantId: t.tenant.id, exportId: lost.id });
    expect((await row(lost.id)).enqueued_at).toEqual(clock.now());
    await sweep();
    expect(await drainQueue()).toEqual([]);
    expect((await deliver(lost.id)).batchItemFailures).toEqual([]);
    expect((await row(lost.id)).status).toBe("ready");

    // A worker claimed this one and died: the lease ends, a minute of grace, then it is re-sent once.
    const died = await create({ format: "csv" });
    await query("update status_history_exports set status = 'running', attempts = 1, lease_until = $2 where id = $1", [
      died.id,
      new Date(clock.nowMs() + 960_000),
    ]);
    await drainQueue();
    clock.advance(990_000);
    await sweep();
    expect(await drainQueue()).toEqual([]);
    clock.advance(31_000);
    await sweep();
    expect(await drainQueue()).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: died.id }]);
    await sweep();
    expect(await drainQueue()).toEqual([]);
    clock.advance(21 * 60_000);
    await sweep();
    expect(await drainQueue()).toEqual([{ v: 1, tenantId: t.tenant.id, exportId: died.id }]);
    expect((await deliver(died.id)).batchItemFailures).toEqual([]);
    expect(await row(died.id)).toMatchObject({ status: "ready", attempts: 2 });
  });
});

describe("copyOut", () => {
  const text = (rows: AsyncIterable<Buffer>) =>
    (async () => {
      let s = "";
      for await (const c of rows) s += c.toString("utf8");
      return s;
    })();

  it("runs in a read-only repeatable read snapshot without statement timeout, values only as settings", async () => {
    const settings: CopySetting[] = [];
    const p = settingPlaceholder(settings, "aos.test_");
    const evil = "x'); drop table status_history; --";
    const sql = `copy (select ${p(evil, "text")}, ${p(42, "bigint")} + 1, ${p(new Date("2026-01-02T03:04:05.678Z"), "timestamptz")} = '2026-01-02T03:04:05.678Z',
      current_setting('transaction_isolation'), current_setting('transaction_read_only'), current_setting('statement_timeout')
      from generate_series(1, 3)) to stdout with (format csv)`;
    expect(sql).not.toContain("drop table");
    const out = await copyOut(await pool(), { text: sql, settings }, text);
    expect(out.rowCount).toBe(3);
    expect(out.result).toBe(`${evil},43,t,repeatable read,on,0\n`.repeat(3));
    expect(settings).toEqual([
      ["aos.test_1", evil],
      ["aos.test_2", "42"],
      ["aos.test_3", "2026-01-02T03:04:05.678Z"],
    ]);
  });

  it("destroys its connection when the consumer fails mid-stream; the pool keeps working", async () => {
    const marker = `copy_abort_${randomUUID().slice(0, 8)}`;
    const err = await copyOut(
      await pool(),
      { text: `copy (select '${marker}', repeat('x', 100), g from generate_series(1, 300000) g) to stdout` },
      async (rows) => {
        for await (const _ of rows) throw new Error("consumer broke");
      },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "internal" });
    expect((err as Error).cause).toMatchObject({ message: "consumer broke" });
    let running = 1;
    for (let i = 0; i < 50 && running > 0; i++) {
      await sleep(50);
      running = (
        await query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()",
          [`%${marker}%`],
        )
      ).rows[0]!.n;
    }
    expect(running).toBe(0);
    expect((await query("select 1 as one")).rows).toEqual([{ one: 1 }]);
  });

  it("hands over every byte of a long COPY in order, in chunks of at most 256 KB, then reuses the connection", async () => {
    // Rows of 1 to 300 bytes: message headers fall across socket reads at every offset.
    const n = 120_000;
    const sql = `copy (select g, repeat(chr(97 + g % 26), g % 300) from generate_series(1, ${n}) g) to stdout`;
    const sizes: number[] = [];
    const out = await copyOut(await pool(), { text: sql }, async (rows) => {
      const chunks: Buffer[] = [];
      for await (const c of rows) {
        sizes.push(c.length);
        chunks.push(c);
      }
      return Buffer.concat(chunks).toString("utf8");
    });
    let expected = "";
    for (let g = 1; g <= n; g++) expected += `${g}\t${String.fromCharCode(97 + (g % 26)).repeat(g % 300)}\n`;
    expect(out.rowCount).toBe(n);
    expect(out.result.length).toBe(expected.length);
    expect(out.result === expected).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
    expect(sizes.length).toBeLessThan(expected.length / (64 * 1024));
    expect((await query("select 3 as three")).rows).toEqual([{ three: 3 }]);
  });

  it("rejects with the database's error when the COPY fails mid-stream; the pool keeps working", async () => {
    let received = 0;
    const err = await copyOut(
      await pool(),
      { text: "copy (select g, repeat('y', 200), 1 / (g - 150000) from generate_series(1, 200000) g) to stdout" },
      async (rows) => {
        for await (const c of rows) received += c.length;
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(JSON.stringify({ message: (err as Error).message, cause: String((err as Error).cause) })).toContain(
      "division by zero",
    );
    expect(received).toBeGreaterThan(0);
    expect((await query("select 4 as four")).rows).toEqual([{ four: 4 }]);
  });

  it("refuses a consumer that returns before reading to the end", async () => {
    await expect(
      copyOut(
        await pool(),
        { text: "copy (select g from generate_series(1, 1000000) g) to stdout" },
        async () => "early",
      ),
    ).rejects.toMatchObject({ kind: "internal" });
    expect((await query("select 2 as two")).rows).toEqual([{ two: 2 }]);
  });
});
