/**
 * The status history query endpoints through their real handlers: listing (filters, order,
 * keyset pages across ties), one entity's history, stats, and every way a request is refused.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { encodeCursor } from "../../core/platform/pagination.ts";
import { invoke } from "../events/index.ts";
import { change, insertHistoryAt, recordHistory } from "../factories/status-history.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const LIST = "/api/v1/status_history";
const STATS = "/api/v1/status_history/stats";
const entityPath = (type: string, id: string) => `/api/v1/status_history/entity/${type}/${encodeURIComponent(id)}`;
const WIRE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const fieldsOf = (res: { body: any }): string[] => res.body.error.details.fields.map((f: { field: string }) => f.field);
const ids = (res: { body: any }): number[] => res.body.data.map((r: { id: number }) => r.id);

/** Follow next_cursor to the end; every page holds at most `limit` rows. */
async function allPages(key: string, path: string, q: Record<string, string>, limit: number) {
  const seen: number[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await invoke("GET", path, {
      key,
      query: { ...q, limit: String(limit), ...(cursor ? { cursor } : {}) },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    seen.push(...ids(res));
    cursor = res.body.next_cursor ?? undefined;
    pages++;
  } while (cursor && pages < 100); // a cursor that does not advance fails the caller's checks, not the timeout
  return { seen, pages };
}

async function dbOrder(tenantId: string, dir: "asc" | "desc", where = "true", params: unknown[] = []) {
  const { rows } = await query<{ id: number }>(
    `select id from status_history where tenant_id = $1 and ${where} order by created_at ${dir}, id ${dir}`,
    [tenantId, ...params],
  );
  return rows.map((r) => r.id);
}

let t: Tenant;
let other: Tenant;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  other = await makeTenantWithKeys();
});
afterEach(() => setClock(systemClock));

describe("GET /api/v1/status_history", () => {
  it("answers the tenant's rows newest first, in wire shape, with created_at to the microsecond", async () => {
    const own = await makeTenantWithKeys();
    await recordHistory(own.tenant.id, [change({ reason: 'started, by "me"', metadata: { attempt: 2, tags: ["a"] } })]);
    const [later] = await recordHistory(own.tenant.id, [change({ new_status: "done", old_status: "running" })]);
    const res = await invoke("GET", LIST, { key: own.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(ids(res)).toEqual(await dbOrder(own.tenant.id, "desc"));
    expect(res.body.data[0].id).toBe(later!.id);
    const first = res.body.data[1];
    expect(first).toEqual({
      id: expect.any(Number),
      tenant_id: own.tenant.id,
      entity_type: "job",
      entity_id: expect.stringMatching(/^job-/),
      old_status: "pending",
      new_status: "running",
      actor: "system:test",
      reason: 'started, by "me"',
      metadata: { attempt: 2, tags: ["a"] },
      correlation_id: "factory",
      created_at: expect.stringMatching(WIRE_TIME),
    });
    // The wire value is the stored instant exactly (a JS Date would have cut the microseconds).
    for (const row of res.body.data) {
      const { rows } = await query<{ same: boolean }>(
        "select created_at = $1::timestamptz as same from status_history where id = $2",
        [row.created_at, row.id],
      );
      expect(rows[0]?.same).toBe(true);
    }
  });

  it("filters by entity_type, entity_id, new_status, actor, since and until", async () => {
    const own = await makeTenantWithKeys();
    const [job] = await recordHistory(own.tenant.id, [change({ entity_id: "job-1" })]);
    const [item] = await recordHistory(own.tenant.id, [change({ entity_type: "item", entity_id: "item-1" })]);
    const [failed] = await recordHistory(own.tenant.id, [change({ entity_id: "job-2", new_status: "failed" })]);
    const [byKey] = await recordHistory(own.tenant.id, [change({ entity_id: "job-3", actor: "key:k-1" })]);
    const past = await insertHistoryAt(
      own.tenant.id,
      ["10:00:00", "10:30:00", "11:00:00", "12:00:00"].map((hms) => ({
        ...change({ entity_type: "invoke" }),
        created_at: `2026-01-01T${hms}.000000Z`,
      })),
    );
    const cases: [Record<string, string>, number[]][] = [
      [{ entity_type: "item" }, [item!.id]],
      [{ entity_id: "job-1" }, [job!.id]],
      [{ entity_type: "item", entity_id: "job-1" }, []],
      [{ new_status: "failed" }, [failed!.id]],
      [{ actor: "key:k-1" }, [byKey!.id]],
      // since is inclusive, until exclusive.
      [{ since: "2026-01-01T10:30:00Z", until: "2026-01-01T12:00:00Z" }, [past[2]!, past[1]!]],
      [{ until: "2026-01-01T10:30:00.000Z" }, [past[0]!]],
      [{ since: "2026-01-01T11:00:00+00:00", entity_type: "invoke" }, [past[3]!, past[2]!]],
      [{ since: "2026-01-01T12:00:00+01:00", until: "2026-01-01T12:00:01+01:00" }, [past[2]!]],
    ];
    for (const [q, expected] of cases) {
      const res = await invoke("GET", LIST, { key: own.keys.viewer.key, query: q });
      expect(res.status, JSON.stringify(q)).toBe(200);
      expect(ids(res), JSON.stringify(q)).toEqual(expected);
    }
  });

  it("pages through rows sharing a created_at: every row exactly once, in order, both ways", async () => {
    const own = await makeTenantWithKeys();
    await recordHistory(own.tenant.id, 23);
    await recordHistory(own.tenant.id, 19);
    // Two rows a microsecond apart: a cursor rounded to milliseconds would lose or repeat one.
    await insertHistoryAt(own.tenant.id, [
      { ...change(), created_at: "2026-01-01T10:00:00.000100Z" },
      { ...change(), created_at: "2026-01-01T10:00:00.000200Z" },
    ]);
    // The test's rows are all `job` changes (the tenant's and its keys' creation are rows too).
    const { rows } = await query<{ n: number }>(
      "select count(distinct created_at)::int as n from status_history where tenant_id = $1 and entity_type = 'job'",
      [own.tenant.id],
    );
    expect(rows[0]?.n).toBe(4);
    for (const dir of ["desc", "asc"] as const) {
      const { seen, pages } = await allPages(own.keys.viewer.key, LIST, { order: dir, entity_type: "job" }, 5);
      expect(pages).toBe(9);
      expect(seen).toEqual(await dbOrder(own.tenant.id, dir, "entity_type = 'job'"));
      expect(new Set(seen).size).toBe(44);
    }
    const one = await allPages(
      own.keys.viewer.key,
      LIST,
      { order: "asc", since: "2026-01-01T10:00:00Z", entity_type: "job" },
      1,
    );
    expect(one.seen).toHaveLength(44);
    const filtered = await allPages(own.keys.viewer.key, LIST, { entity_type: "job", order: "asc" }, 1000);
    expect(filtered.pages).toBe(1);
  });

  it("refuses bad requests with 400 naming the fields at fault", async () => {
    await recordHistory(t.tenant.id, 2);
    const desc: string = (await invoke("GET", LIST, { key: t.keys.viewer.key, query: { limit: "1" } })).body
      .next_cursor;
    expect(desc).toEqual(expect.any(String));
    const flipped = desc.slice(0, 5) + (desc[5] === "A" ? "B" : "A") + desc.slice(6);
    const forged = (key: unknown[]) => encodeCursor(key as (string | number)[]);
    const cases: [Record<string, string>, string[]][] = [
      [{ entity_type: "Job!" }, ["query.entity_type"]],
      [{ entity_id: "x".repeat(201) }, ["query.entity_id"]],
      [{ new_status: "" }, ["query.new_status"]],
      [{ since: "yesterday" }, ["query.since"]],
      [{ until: "2026-01-01" }, ["query.until"]],
      [{ since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" }, ["query.since"]],
      [{ since: "2026-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z" }, ["query.since"]],
      [{ limit: "0" }, ["query.limit"]],
      [{ limit: "1001" }, ["query.limit"]],
      [{ limit: "ten" }, ["query.limit"]],
      [{ order: "up" }, ["query.order"]],
      [{ entity: "job" }, ["query.entity"]],
      [{ cursor: "not-a-cursor" }, ["query.cursor"]],
      [{ cursor: flipped }, ["query.cursor"]],
      [{ cursor: forged(["desc", "2026-13-01T00:00:00.000000Z", 1]) }, ["query.cursor"]],
      [{ cursor: forged(["desc", "2026-01-01 00:00:00", 1]) }, ["query.cursor"]],
      [{ cursor: forged(["desc", "2026-01-01T00:00:00.000000Z", 1.5]) }, ["query.cursor"]],
      [{ cursor: forged(["sideways", "2026-01-01T00:00:00.000000Z", 1]) }, ["query.cursor"]],
      // A cursor of a newest-first listing cannot continue an oldest-first one.
      [{ cursor: desc, order: "asc" }, ["query.cursor"]],
      [{ limit: "0", entity_type: "A", extra: "1" }, ["query.limit", "query.entity_type", "query.extra"]],
    ];
    for (const [q, fields] of cases) {
      const res = await invoke("GET", LIST, { key: t.keys.viewer.key, query: q });
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(res.body.error.code).toBe("validation.invalid_input");
      expect(fieldsOf(res).sort(), JSON.stringify(q)).toEqual([...fields].sort());
    }
    expect((await invoke("GET", LIST, { key: t.keys.viewer.key, query: { cursor: desc } })).status).toBe(200);
    expect((await invoke("GET", LIST, { key: t.keys.viewer.key, query: { limit: "1000" } })).status).toBe(200);
  });

  it("needs a key; an admin names another tenant by slug or id", async () => {
    const none = await invoke("GET", LIST);
    expect(none.status).toBe(401);
    const [row] = await recordHistory(other.tenant.id, [change({ entity_id: "other-1" })]);
    for (const tenant of [other.tenant.slug, other.tenant.id]) {
      const res = await invoke("GET", LIST, { key: t.keys.admin.key, query: { tenant, entity_id: "other-1" } });
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual([row!.id]);
    }
    const own = await invoke("GET", LIST, { key: t.keys.admin.key, query: { entity_id: "other-1" } });
    expect(ids(own)).toEqual([]);
    const unknown = await invoke("GET", LIST, { key: t.keys.admin.key, query: { tenant: "no-such-tenant" } });
    expect(unknown.status).toBe(404);
  });
});

describe("GET /api/v1/status_history/entity/{type}/{id}", () => {
  it("answers the entity's whole history oldest first, paging across ties", async () => {
    const id = "run:42";
    const e = (o: Partial<Parameters<typeof change>[0]>) =>
      change({ entity_type: "workflow_run", entity_id: id, ...o });
    await recordHistory(t.tenant.id, [e({ old_status: null, new_status: "pending" })]);
    await recordHistory(t.tenant.id, [change({ entity_type: "workflow_run", entity_id: "run:43" })]);
    await recordHistory(t.tenant.id, [
      e({ old_status: "pending", new_status: "running" }),
      e({ old_status: "running", new_status: "paused" }),
      e({ old_status: "paused", new_status: "running" }),
    ]);
    await recordHistory(other.tenant.id, [e({ new_status: "other-tenant" })]);
    await recordHistory(t.tenant.id, [e({ old_status: "running", new_status: "done" })]);
    const res = await invoke("GET", entityPath("workflow_run", id), { key: t.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body.data.map((r: { new_status: string }) => r.new_status)).toEqual([
      "pending",
      "running",
      "paused",
      "running",
      "done",
    ]);
    const expected = await dbOrder(t.tenant.id, "asc", "entity_type = $2 and entity_id = $3", ["workflow_run", id]);
    expect(ids(res)).toEqual(expected);
    const paged = await allPages(t.keys.viewer.key, entityPath("workflow_run", id), {}, 2);
    expect(paged).toEqual({ seen: expected, pages: 3 });
  });

  it("an entity without history is an empty 200", async () => {
    const res = await invoke("GET", entityPath("job", "never-seen"), { key: t.keys.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], next_cursor: null });
  });

  it("refuses a bad type, id, query or cursor with 400; 401 without a key; an admin names a tenant", async () => {
    await recordHistory(t.tenant.id, [change({ entity_id: "e-1" })]);
    const descCursor = (await invoke("GET", LIST, { key: t.keys.viewer.key, query: { limit: "1" } })).body.next_cursor;
    const cases: [string, Record<string, string>, string[]][] = [
      [entityPath("Job", "e-1"), {}, ["path.type"]],
      [entityPath("job-type", "e-1"), {}, ["path.type"]],
      [entityPath("job", "x".repeat(201)), {}, ["path.id"]],
      [entityPath("job", "e-1"), { limit: "1001" }, ["query.limit"]],
      [entityPath("job", "e-1"), { limit: "0" }, ["query.limit"]],
      [entityPath("job", "e-1"), { order: "desc" }, ["query.order"]],
      [entityPath("job", "e-1"), { cursor: "zzz" }, ["query.cursor"]],
      [entityPath("job", "e-1"), { cursor: descCursor }, ["query.cursor"]],
    ];
    for (const [path, q, fields] of cases) {
      const res = await invoke("GET", path, { key: t.keys.viewer.key, query: q });
      expect(res.status, `${path} ${JSON.stringify(q)}`).toBe(400);
      expect(fieldsOf(res)).toEqual(fields);
    }
    expect((await invoke("GET", entityPath("job", "e-1"))).status).toBe(401);
    const [row] = await recordHistory(other.tenant.id, [change({ entity_id: "o-1" })]);
    const admin = await invoke("GET", entityPath("job", "o-1"), {
      key: t.keys.admin.key,
      query: { tenant: other.tenant.slug },
    });
    expect(ids(admin)).toEqual([row!.id]);
  });
});

describe("GET /api/v1/status_history/stats", () => {
  const at = (hms: string, o: Parameters<typeof change>[0] = {}) => ({
    ...change(o),
    created_at: `2026-01-01T${hms}Z`,
  });

  it("counts a window by type, status, both and hour, empty hours included", async () => {
    const own = await makeTenantWithKeys();
    await insertHistoryAt(own.tenant.id, [
      at("10:19:59.999999"), // before since
      at("10:20:00.000000"),
      at("10:59:59.999999"),
      at("11:30:00", { entity_type: "item", new_status: "failed" }),
      at("13:00:00", { new_status: "done" }),
      at("14:00:00"), // until is exclusive
    ]);
    const window = { since: "2026-01-01T10:20:00Z", until: "2026-01-01T14:00:00Z" };
    const res = await invoke("GET", STATS, { key: own.keys.viewer.key, query: window });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      tenant_id: own.tenant.id,
      since: "2026-01-01T10:20:00.000000Z",
      until: "2026-01-01T14:00:00.000000Z",
      total: 4,
      by_entity_type: [
        { entity_type: "job", count: 3 },
        { entity_type: "item", count: 1 },
      ],
      by_new_status: [
        { new_status: "running", count: 2 },
        { new_status: "done", count: 1 },
        { new_status: "failed", count: 1 },
      ],
      by_entity_type_and_status: [
        { entity_type: "job", new_status: "running", count: 2 },
        { entity_type: "item", new_status: "failed", count: 1 },
        { entity_type: "job", new_status: "done", count: 1 },
      ],
      hourly: [
        { hour: "2026-01-01T10:00:00.000000Z", count: 2 },
        { hour: "2026-01-01T11:00:00.000000Z", count: 1 },
        { hour: "2026-01-01T12:00:00.000000Z", count: 0 },
        { hour: "2026-01-01T13:00:00.000000Z", count: 1 },
      ],
    });
    const items = await invoke("GET", STATS, { key: own.keys.viewer.key, query: { ...window, entity_type: "item" } });
    expect(items.body.total).toBe(1);
    expect(items.body.by_entity_type).toEqual([{ entity_type: "item", count: 1 }]);
    expect(items.body.hourly.map((h: { count: number }) => h.count)).toEqual([0, 1, 0, 0]);
    const empty = await invoke("GET", STATS, {
      key: own.keys.viewer.key,
      query: { since: "2026-01-01T14:30:00Z", until: "2026-01-01T16:00:00Z" },
    });
    expect(empty.body).toMatchObject({
      total: 0,
      by_entity_type: [],
      by_new_status: [],
      by_entity_type_and_status: [],
    });
    expect(empty.body.hourly).toEqual([
      { hour: "2026-01-01T14:00:00.000000Z", count: 0 },
      { hour: "2026-01-01T15:00:00.000000Z", count: 0 },
    ]);
  });

  it("defaults to the 24 hours ending at the clock's now", async () => {
    const own = await makeTenantWithKeys();
    await recordHistory(own.tenant.id, 3);
    const now = Date.now() + 60_000;
    setClock(new ManualClock(now));
    const res = await invoke("GET", STATS, { key: own.keys.viewer.key });
    expect(res.status).toBe(200);
    // The 3 rows, and the tenant's and its 4 keys' creation.
    expect(res.body.total).toBe(3 + 5);
    expect(res.body.until).toBe(new Date(now).toISOString().replace("Z", "000Z"));
    expect(res.body.since).toBe(new Date(now - 86_400_000).toISOString().replace("Z", "000Z"));
    const hours: string[] = [];
    for (let h = Math.floor((now - 86_400_000) / 3_600_000) * 3_600_000; h < now; h += 3_600_000)
      hours.push(new Date(h).toISOString().replace("Z", "000Z"));
    expect(res.body.hourly.map((b: { hour: string }) => b.hour)).toEqual(hours);
    expect(res.body.hourly.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(3 + 5);
    // Two days on, the same rows are outside the default window.
    setClock(new ManualClock(now + 2 * 86_400_000));
    expect((await invoke("GET", STATS, { key: own.keys.viewer.key })).body.total).toBe(0);
  });

  it("allows 31 days and refuses longer windows and bad queries with 400; 401 without a key", async () => {
    const month = await invoke("GET", STATS, {
      key: t.keys.viewer.key,
      query: { since: "2026-01-01T00:00:00Z", until: "2026-02-01T00:00:00Z" },
    });
    expect(month.status).toBe(200);
    expect(month.body.hourly).toHaveLength(31 * 24);
    setClock(new ManualClock(Date.UTC(2026, 5, 1)));
    const cases: [Record<string, string>, string[]][] = [
      [{ since: "2026-01-01T00:00:00Z", until: "2026-02-01T00:00:00.001Z" }, ["query.since"]],
      [{ since: "2026-04-01T00:00:00Z" }, ["query.since"]], // to the clock's now: 61 days
      [{ since: "2026-07-01T00:00:00Z" }, ["query.since"]], // after the clock's now
      [{ since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" }, ["query.since"]],
      [{ since: "last week" }, ["query.since"]],
      [{ until: "1767225600" }, ["query.until"]],
      [{ entity_type: "Item" }, ["query.entity_type"]],
      [{ bucket: "day" }, ["query.bucket"]],
      [{ limit: "10" }, ["query.limit"]],
    ];
    for (const [q, fields] of cases) {
      const res = await invoke("GET", STATS, { key: t.keys.viewer.key, query: q });
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(fieldsOf(res), JSON.stringify(q)).toEqual(fields);
    }
    expect((await invoke("GET", STATS)).status).toBe(401);
  });

  it("an admin counts another tenant's rows", async () => {
    const b = await makeTenantWithKeys();
    await recordHistory(b.tenant.id, 2);
    const res = await invoke("GET", STATS, { key: t.keys.admin.key, query: { tenant: b.tenant.id } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant_id: b.tenant.id, total: 2 + 5 }); // + the tenant's and its keys' creation
  });
});
