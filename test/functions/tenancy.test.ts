import { beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { handler as flushUsage } from "../../functions/cron/key-usage-flush.ts";
import { invoke, lambdaContext, scheduledEvent } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeKey, makeTenantWithKeys } from "../factories/tenancy.ts";

let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  t = await makeTenantWithKeys();
});

describe("tenants", () => {
  it("an admin creates a tenant with an operator key that works once and only in that tenant", async () => {
    const res = await invoke("POST", "/api/v1/tenants", {
      key: t.keys.admin.key,
      body: { slug: "acme", name: "Acme" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ slug: "acme", name: "Acme", status: "active", key: { role: "operator" } });
    expect(res.body.key.key).toMatch(/^aos_[A-Za-z0-9_-]{32}$/);
    const mine = await invoke("GET", "/api/v1/keys", { key: res.body.key.key });
    expect(mine.status).toBe(200);
    expect(mine.body.data.map((k: { tenant_id: string }) => k.tenant_id)).toEqual([res.body.id]);
    expect(JSON.stringify(mine.body)).not.toContain(res.body.key.key);
    // The tenant and its first key are in the status history, by the admin who made them.
    const history = await invoke("GET", "/api/v1/status_history", {
      key: res.body.key.key,
      query: { order: "asc" },
    });
    expect(history.status).toBe(200);
    expect(
      history.body.data.map((h: any) => [h.entity_type, h.entity_id, h.old_status, h.new_status, h.actor]),
    ).toEqual([
      ["tenant", res.body.id, null, "active", `key:${t.keys.admin.id}`],
      ["api_key", res.body.key.id, null, "active", `key:${t.keys.admin.id}`],
    ]);
    expect(history.body.data[1].metadata).toEqual({ role: "operator", prefix: res.body.key.prefix, expires_at: null });
    expect(JSON.stringify(history.body)).not.toContain(res.body.key.key);
  });

  it("refuses a duplicate slug with 409", async () => {
    await invoke("POST", "/api/v1/tenants", { key: t.keys.admin.key, body: { slug: "dup", name: "One" } });
    const res = await invoke("POST", "/api/v1/tenants", { key: t.keys.admin.key, body: { slug: "dup", name: "Two" } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("tenancy.tenant_exists");
  });

  it("lists tenants in stable keyset pages", async () => {
    for (let i = 0; i < 5; i++) {
      await invoke("POST", "/api/v1/tenants", {
        key: t.keys.admin.key,
        body: { slug: `page-${i}`, name: `P${i}`, initial_key_role: "none" },
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await invoke("GET", "/api/v1/tenants", {
        key: t.keys.admin.key,
        query: { limit: "2", ...(cursor ? { cursor } : {}) },
      });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((x: { id: string }) => x.id));
      cursor = res.body.next_cursor ?? undefined;
    } while (cursor);
    const { rows } = await query<{ id: string }>("select id from tenants order by created_at desc, id desc");
    expect(seen).toEqual(rows.map((r) => r.id));
  });
});

describe("cursors", () => {
  const cursorOf = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString("base64url");
  const id = "0193a5d2-7c4e-7000-8000-000000000001";
  // Dates that do not exist: JS rolls them over, Postgres refuses them (which was a 500).
  const impossible = [
    "2026-02-30T10:00:00.000Z",
    "2026-13-01T00:00:00.000Z",
    "2026-02-28T25:00:00.000Z",
    // JS takes year 0 (1 BC); Postgres has no year 0.
    "0000-01-01T00:00:00.000Z",
    "0000-01-01T00:00:00.000000Z",
  ];

  for (const path of ["/api/v1/tenants", "/api/v1/keys"]) {
    it(`GET ${path} answers 400 on query.cursor for an impossible date or a malformed id, 200 for its own cursor`, async () => {
      const first = await invoke("GET", path, { key: t.keys.admin.key, query: { limit: "1" } });
      expect(first.status).toBe(200);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const next = await invoke("GET", path, {
        key: t.keys.admin.key,
        query: { limit: "1", cursor: first.body.next_cursor },
      });
      expect(next.status).toBe(200);
      expect(next.body.data[0].id).not.toBe(first.body.data[0].id);

      for (const cursor of [
        ...impossible.map((at) => cursorOf([at, id])),
        cursorOf(["2026-02-01T10:00:00.000Z", "x"]),
      ]) {
        const res = await invoke("GET", path, { key: t.keys.admin.key, query: { cursor } });
        expect(res.status, cursor).toBe(400);
        expect(res.body.error.code).toBe("validation.invalid_input");
        expect(res.body.error.details.fields).toEqual([
          { field: "query.cursor", message: "not a cursor this API returned" },
        ]);
      }
    });
  }

  it("GET /api/v1/jobs, /status_history and a job's items answer 400 on query.cursor, not 500, for impossible keys", async () => {
    await grantCredits(t.tenant.id, 10);
    const job = await invoke("POST", "/api/v1/jobs", {
      key: t.keys.admin.key,
      body: { task: "external", items: [{ input: {} }], credits_per_item: 1 },
    });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const cases: [string, unknown[]][] = [
      ["/api/v1/jobs", ["2026-02-30T10:00:00.000000Z", id]],
      ["/api/v1/jobs", ["0000-01-01T00:00:00.000000Z", id]],
      ["/api/v1/status_history", ["desc", "0000-01-01T00:00:00.000000Z", 1]],
      // An item's idx is a Postgres integer: 2^40 is out of its range (was 400 db.out_of_range).
      [`/api/v1/jobs/${job.body.id}/items`, [2 ** 40]],
    ];
    for (const [path, key] of cases) {
      const res = await invoke("GET", path, { key: t.keys.admin.key, query: { cursor: cursorOf(key) } });
      expect(res.status, `${path} ${JSON.stringify(key)}`).toBe(400);
      expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["query.cursor"]);
    }
  });

  // Timestamps have microseconds: a cursor that kept only milliseconds skipped (or repeated) rows
  // created in the same millisecond as a page's last row.
  const sameMs = (i: number) => `2999-01-01T00:00:00.1234${i}0Z`;
  const pageAll = async (path: string, query: Record<string, string> = {}) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await invoke("GET", path, {
        key: t.keys.admin.key,
        query: { ...query, limit: "1", ...(cursor ? { cursor } : {}) },
      });
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((x: { id: string }) => x.id));
      cursor = res.body.next_cursor ?? undefined;
    } while (cursor);
    return seen;
  };

  it("GET /api/v1/tenants pages one at a time through tenants created in one millisecond, none lost or repeated", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows } = await query<{ id: string }>(
        "insert into tenants (slug, name, created_at) values ($1, 'same ms', $2) returning id",
        [`same-ms-${i}`, sameMs(i)],
      );
      made.push((rows[0] as { id: string }).id);
    }
    const seen = await pageAll("/api/v1/tenants");
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((s) => made.includes(s))).toEqual([...made].reverse());
  });

  it("GET /api/v1/keys pages one at a time through keys created in one millisecond, none lost or repeated", async () => {
    const other = await makeTenantWithKeys();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows } = await query<{ id: string }>(
        `insert into api_keys (tenant_id, role, prefix, key_hash, created_at)
           values ($1, 'viewer', $2, sha256(convert_to($2, 'UTF8')), $3) returning id`,
        [other.tenant.id, `samems${i}${"x".repeat(6)}`, sameMs(i)],
      );
      made.push((rows[0] as { id: string }).id);
    }
    const seen = await pageAll("/api/v1/keys", { tenant: other.tenant.slug });
    expect(seen).toHaveLength(4 + 5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 5)).toEqual([...made].reverse());
  });

  it("a cursor with milliseconds, as listings of tenants and keys gave before, still continues", async () => {
    const first = await invoke("GET", "/api/v1/tenants", { key: t.keys.admin.key, query: { limit: "1" } });
    const [at, lastId] = JSON.parse(Buffer.from(first.body.next_cursor, "base64url").toString()) as [string, string];
    expect(at).toMatch(/\.\d{6}Z$/);
    const old = cursorOf([`${at.slice(0, 23)}Z`, lastId]);
    const res = await invoke("GET", "/api/v1/tenants", { key: t.keys.admin.key, query: { limit: "1", cursor: old } });
    expect(res.status).toBe(200);
  });
});

describe("keys", () => {
  it("an operator creates, lists and revokes keys of its tenant", async () => {
    const created = await invoke("POST", "/api/v1/keys", {
      key: t.keys.operator.key,
      body: { role: "agent", name: "worker" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: "agent", name: "worker", tenant_id: t.tenant.id, revoked_at: null });
    expect(created.body.prefix).toBe(created.body.key.slice(0, 16));
    const list = await invoke("GET", "/api/v1/keys", { key: t.keys.operator.key });
    expect(
      list.body.data.some((k: { id: string; key?: string }) => k.id === created.body.id && k.key === undefined),
    ).toBe(true);
    const revoked = await invoke("DELETE", `/api/v1/keys/${created.body.id}`, { key: t.keys.operator.key });
    expect(revoked.status).toBe(200);
    const again = await invoke("DELETE", `/api/v1/keys/${created.body.id}`, { key: t.keys.operator.key });
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    // Created and revoked, each once in the key's history (the second revoke changed nothing).
    const history = await invoke("GET", `/api/v1/status_history/entity/api_key/${created.body.id}`, {
      key: t.keys.operator.key,
    });
    expect(history.body.data.map((h: any) => [h.old_status, h.new_status, h.actor])).toEqual([
      [null, "active", `key:${t.keys.operator.id}`],
      ["active", "revoked", `key:${t.keys.operator.id}`],
    ]);
    const active = await invoke("GET", "/api/v1/keys", { key: t.keys.operator.key });
    expect(active.body.data.some((k: { id: string }) => k.id === created.body.id)).toBe(false);
    const all = await invoke("GET", "/api/v1/keys", { key: t.keys.operator.key, query: { include_revoked: "true" } });
    expect(all.body.data.some((k: { id: string }) => k.id === created.body.id)).toBe(true);
  });

  it("only an admin may mint an admin key", async () => {
    const res = await invoke("POST", "/api/v1/keys", { key: t.keys.operator.key, body: { role: "admin" } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("tenancy.role_not_grantable");
    const ok = await invoke("POST", "/api/v1/keys", { key: t.keys.admin.key, body: { role: "admin" } });
    expect(ok.status).toBe(201);
  });

  it("an operator neither lists nor revokes a key above its role, even the admin keys of its own tenant", async () => {
    const ours = await makeTenantWithKeys();
    const peer = await makeKey({ tenantId: ours.tenant.id, role: "operator" });
    const listed = async (key: string) => {
      const res = await invoke("GET", "/api/v1/keys", { key, query: { include_revoked: "true", limit: "1000" } });
      expect(res.status).toBe(200);
      return res.body.data as { id: string; role: string }[];
    };
    const seenByOperator = await listed(ours.keys.operator.key);
    expect(new Set(seenByOperator.map((k) => k.role))).toEqual(new Set(["operator", "agent", "viewer"]));
    expect(seenByOperator.some((k) => k.id === ours.keys.admin.id)).toBe(false);
    // An admin sees every key of the tenant, its own role's included.
    const seenByAdmin = await listed(ours.keys.admin.key);
    expect(seenByAdmin.map((k) => k.id)).toContain(ours.keys.admin.id);
    expect(seenByAdmin).toHaveLength(seenByOperator.length + 1);

    // Revoking the admin key answers as for a key that does not exist, and changes nothing.
    const res = await invoke("DELETE", `/api/v1/keys/${ours.keys.admin.id}`, { key: ours.keys.operator.key });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("tenancy.key_not_found");
    const { rows } = await query<{ revoked_at: Date | null }>("select revoked_at from api_keys where id = $1", [
      ours.keys.admin.id,
    ]);
    expect(rows[0]?.revoked_at).toBeNull();
    expect((await invoke("GET", "/api/v1/tenants", { key: ours.keys.admin.key })).status).toBe(200);
    // Its own role and below: revocable.
    const own = await invoke("DELETE", `/api/v1/keys/${peer.id}`, { key: ours.keys.operator.key });
    expect(own.status).toBe(200);
  });

  it("an admin creates a key in another tenant by slug", async () => {
    const other = await makeTenantWithKeys();
    const res = await invoke("POST", "/api/v1/keys", {
      key: t.keys.admin.key,
      body: { role: "viewer", tenant: other.tenant.slug },
    });
    expect(res.status).toBe(201);
    expect(res.body.tenant_id).toBe(other.tenant.id);
  });

  it("the KeyUsageFlush cron writes last_used_at from the marks auth left in Redis", async () => {
    const before = await query<{ last_used_at: Date | null }>("select last_used_at from api_keys where id = $1", [
      t.keys.viewer.id,
    ]);
    expect(before.rows[0]?.last_used_at).toBeNull();
    await invoke("GET", "/api/v1/keys", { key: t.keys.viewer.key }); // 403 for the role, but the key is valid and used
    const result = await flushUsage(scheduledEvent(), lambdaContext());
    expect(result.keys).toBeGreaterThanOrEqual(1);
    const after = await query<{ last_used_at: Date | null }>("select last_used_at from api_keys where id = $1", [
      t.keys.viewer.id,
    ]);
    expect(after.rows[0]?.last_used_at).toBeInstanceOf(Date);
    expect(Date.now() - after.rows[0]!.last_used_at!.getTime()).toBeLessThan(60_000);
    expect((await flushUsage(scheduledEvent(), lambdaContext())).keys).toBe(0);
  });
});
