/**
 * The failure catalog's HTTP API end to end (real handlers, Postgres, Redis): the catalog, classify,
 * the filtered list with cursor and offset pages, one failure, recovery tracking (status history,
 * metrics), statistics and the unrecovered list.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import * as Failures from "../../core/failures/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import { invoke } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { asOwner } from "../setup/db-roles.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
const ids: Record<string, string> = {};

const recordAs = (tenantId: string, error: unknown, runId: string) =>
  withContext({ requestId: "t", correlationId: "t", actor: { type: "system", name: "w", tenantId } }, () =>
    Failures.record({ error, runId, skillId: "slack_send" }),
  );

beforeAll(async () => {
  t = await makeTenantWithKeys();
  ids.rate = (
    await recordAs(
      t.tenant.id,
      new UpstreamError("slack", "slack answered 429", { retryable: true, status: 429 }),
      "run-1",
    )
  ).id;
  ids.server = (
    await recordAs(
      t.tenant.id,
      new UpstreamError("hooks.example.com", "hooks.example.com answered 500", { retryable: true, status: 500 }),
      "run-1",
    )
  ).id;
  ids.miss = (await recordAs(t.tenant.id, new Error("zzz qqq"), "run-2")).id;
  ids.key = (
    await recordAs(t.tenant.id, new AppError("unauthorized", "auth.invalid_key", "The API key is not valid"), "run-3")
  ).id;
  // Two days old: outside the default window of 24 hours.
  ids.old = (await recordAs(t.tenant.id, new Error("old news"), "run-old")).id;
  // The application role may not move created_at: the owner does.
  await asOwner("update failure_matches set created_at = now() - interval '48 hours' where id = $1", [ids.old]);
});

const get = (path: string, q: Record<string, string> = {}, key = t.keys.viewer.key) =>
  invoke("GET", path, { key, query: q });

describe("GET /api/v1/failures/catalog and POST /api/v1/failures/classify", () => {
  it("lists at least 40 entries", async () => {
    const res = await get("/api/v1/failures/catalog");
    expect(res.status).toBe(200);
    expect(res.body.count).toBeGreaterThanOrEqual(40);
    expect(res.body.data[0]).toMatchObject({ id: expect.any(String), recovery_suggestion: expect.any(String) });
  });

  it("classifies a described error without recording it; an operator's route", async () => {
    const before = (await query("select count(*)::int as n from failure_matches")).rows[0];
    const body = {
      code: "skills.upstream_rejected",
      status: 403,
      target: "slack",
      body: "invalid_token",
      message: "slack refused the request (403)",
    };
    const res = await invoke("POST", "/api/v1/failures/classify", { key: t.keys.operator.key, body });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      catalog_entry_id: "slack.webhook_revoked",
      match_type: "exact_code",
      match_confidence: 1,
      entry: { category: "auth", recovery_mode: "fix_config" },
    });
    expect((await query("select count(*)::int as n from failure_matches")).rows[0]).toEqual(before);
    expect((await invoke("POST", "/api/v1/failures/classify", { key: t.keys.viewer.key, body })).status).toBe(403);
    const empty = await invoke("POST", "/api/v1/failures/classify", {
      key: t.keys.operator.key,
      body: { status: 500 },
    });
    expect(empty.status).toBe(400);
    const bad = await invoke("POST", "/api/v1/failures/classify", {
      key: t.keys.operator.key,
      body: { message: "x", oops: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field)).toContain("body.oops");
  });
});

describe("GET /api/v1/failures", () => {
  it("lists the last 24 hours newest first, filtered by run, code, category, severity and status", async () => {
    const all = await get("/api/v1/failures");
    expect(all.status).toBe(200);
    const listed = all.body.data.map((r: { id: string }) => r.id);
    expect(listed).toEqual(expect.arrayContaining([ids.rate, ids.server, ids.miss, ids.key]));
    expect(listed).not.toContain(ids.old);
    expect((await get("/api/v1/failures", { since_hours: "72" })).body.data.map((r: { id: string }) => r.id)).toContain(
      ids.old,
    );
    expect((await get("/api/v1/failures", { run_id: "run-1" })).body.data).toHaveLength(2);
    expect(
      (await get("/api/v1/failures", { error_code: "auth.invalid_key" })).body.data.map((r: { id: string }) => r.id),
    ).toEqual([ids.key]);
    expect(
      (await get("/api/v1/failures", { category: "rate_limit" })).body.data.map((r: { id: string }) => r.id),
    ).toEqual([ids.rate]);
    expect((await get("/api/v1/failures", { severity: "low" })).body.data.map((r: { id: string }) => r.id)).toEqual([
      ids.key,
    ]);
    const bad = await get("/api/v1/failures", { category: "weather", since_hours: "0", status: "maybe" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(
      ["query.category", "query.since_hours", "query.status"].sort(),
    );
  });

  it("pages by cursor and by offset, never both", async () => {
    const p1 = await get("/api/v1/failures", { limit: "2" });
    expect(p1.body.data).toHaveLength(2);
    expect(p1.body.next_cursor).toEqual(expect.any(String));
    const p2 = await get("/api/v1/failures", { limit: "2", cursor: p1.body.next_cursor });
    const seen = [...p1.body.data, ...p2.body.data].map((r: { id: string }) => r.id);
    expect(new Set(seen).size).toBe(seen.length);
    const byOffset = await get("/api/v1/failures", { limit: "2", offset: "2" });
    expect(byOffset.body.data.map((r: { id: string }) => r.id)).toEqual(p2.body.data.map((r: { id: string }) => r.id));
    expect((await get("/api/v1/failures", { cursor: p1.body.next_cursor, offset: "1" })).status).toBe(400);
    expect((await get("/api/v1/failures", { cursor: "garbage" })).status).toBe(400);
  });

  it("an admin may name the tenant; others may not", async () => {
    const other = await makeTenantWithKeys();
    const res = await get("/api/v1/failures", { tenant: t.tenant.slug }, other.keys.admin.key);
    expect(res.status).toBe(200);
    expect(res.body.data.map((r: { id: string }) => r.id)).toContain(ids.rate);
    expect((await get("/api/v1/failures", { tenant: t.tenant.slug }, other.keys.operator.key)).status).toBe(403);
  });
});

describe("recovery tracking", () => {
  it("GET one; PATCH records the attempt, then the success with the caller and the time, in status history", async () => {
    const one = await get(`/api/v1/failures/${ids.server}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: ids.server,
      catalog_entry_id: "upstream.server_error",
      recovery_attempted: false,
    });
    const successes = await metricValue("recovery_success_total");
    const failures = await metricValue("recovery_failure_total");

    const patch = (body: unknown, key = t.keys.operator.key) =>
      invoke("PATCH", `/api/v1/failures/${ids.server}/recovery`, { key, body });
    const tried = await patch({ recovery_attempted: true, recovery_succeeded: false, notes: "retried by hand" });
    expect(tried.status).toBe(200);
    expect(tried.body).toMatchObject({
      recovery_attempted: true,
      recovery_succeeded: false,
      recovered_at: null,
      recovery_notes: "retried by hand",
    });
    const done = await patch({ recovery_succeeded: true, notes: "target back up" });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      recovery_attempted: true,
      recovery_succeeded: true,
      recovered_by: `key:${t.keys.operator.id}`,
      recovery_notes: "target back up",
    });
    expect(Date.parse(done.body.recovered_at)).toBeGreaterThan(Date.now() - 60_000);

    const history = await get(`/api/v1/status_history/entity/failure/${ids.server}`);
    expect(
      history.body.data.map((h: { old_status: string; new_status: string }) => [h.old_status, h.new_status]),
    ).toEqual([
      ["unrecovered", "attempted"],
      ["attempted", "recovered"],
    ]);
    expect(await metricValue("recovery_success_total")).toBe(successes + 1);
    expect(await metricValue("recovery_failure_total")).toBe(failures + 1);

    expect((await patch({})).status).toBe(400);
    expect((await patch({ recovery_succeeded: "yes" })).status).toBe(400);
    expect((await patch({ recovery_succeeded: true }, t.keys.viewer.key)).status).toBe(403);
    const missing = await invoke("PATCH", "/api/v1/failures/00000000-0000-4000-8000-000000000000/recovery", {
      key: t.keys.operator.key,
      body: { recovery_succeeded: true },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("failures.not_found");
    expect((await get("/api/v1/failures/not-a-uuid")).status).toBe(400);
  });

  it("unrecovered leaves out what was recovered; stats count categories, entries, rates and time to recover", async () => {
    await invoke("PATCH", `/api/v1/failures/${ids.rate}/recovery`, {
      key: t.keys.operator.key,
      body: { recovery_succeeded: true },
    });
    const open = await get("/api/v1/failures/unrecovered");
    expect(open.status).toBe(200);
    const openIds = open.body.data.map((r: { id: string }) => r.id);
    expect(openIds).toContain(ids.miss);
    expect(openIds).not.toContain(ids.rate);
    expect(
      (await get("/api/v1/failures", { status: "recovered" })).body.data.map((r: { id: string }) => r.id),
    ).toContain(ids.rate);

    const s = await get("/api/v1/failures/stats");
    expect(s.status).toBe(200);
    expect(s.body.total).toBe(s.body.hits + s.body.misses);
    expect(s.body.misses).toBeGreaterThanOrEqual(1);
    expect(s.body.hit_rate + s.body.miss_rate).toBeCloseTo(1, 3);
    const rate = s.body.by_entry.find((e: { catalog_entry_id: string }) => e.catalog_entry_id === "slack.rate_limited");
    expect(rate).toMatchObject({ count: 1, recovered: 1 });
    expect(rate.median_time_to_recover_s).toBeGreaterThanOrEqual(0);
    expect(s.body.by_category).toEqual(expect.arrayContaining([{ category: "rate_limit", count: 1 }]));
    expect(s.body.by_severity.reduce((n: number, x: { count: number }) => n + x.count, 0)).toBe(s.body.total);
  });
});
