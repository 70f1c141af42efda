/**
 * status_history is append-only by the database's own rules, and `record` appends inside the
 * caller's transaction: rolled back with it, many rows in one statement, validated first.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import { ValidationError } from "../../core/errors.ts";
import { query, withTx } from "../../core/platform/db/index.ts";
import * as StatusHistory from "../../core/status-history/index.ts";
import { asSystem, change, recordHistory } from "../factories/status-history.ts";
import { makeKey, makeTenant } from "../factories/tenancy.ts";
import { asSuperuser, superuserUrl } from "../setup/db-roles.ts";

const appRole = `aos_app_${randomBytes(4).toString("hex")}`;
let tenantId: string;
let app: pg.Client;
let owner: pg.Client;

beforeAll(async () => {
  tenantId = (await makeTenant()).id;
  await recordHistory(tenantId, [change({ entity_id: "kept-1" }), change({ entity_id: "kept-2" })]);
  // A role that has every privilege on the table a trigger could stand in for (more than the
  // application role's, which has no UPDATE, DELETE or TRUNCATE here: test/integration/db-roles.test.ts).
  await asSuperuser(`create role ${appRole} nologin nosuperuser`);
  await asSuperuser(`grant usage on schema public to ${appRole}`);
  await asSuperuser(`grant select, insert, update, delete, truncate on status_history to ${appRole}`);
  app = new pg.Client({ connectionString: superuserUrl() });
  await app.connect();
  await app.query(`set role ${appRole}`);
  owner = new pg.Client({ connectionString: config().databaseMigrationUrl });
  await owner.connect();
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
  await asSuperuser(`drop owned by ${appRole}`);
  await asSuperuser(`drop role ${appRole}`);
});

const changes = {
  UPDATE: "update status_history set new_status = 'forged', reason = 'rewritten' where tenant_id = $1",
  DELETE: "delete from status_history where tenant_id = $1",
  TRUNCATE: "truncate status_history",
} as const;

async function refusal(run: (text: string, params: unknown[]) => Promise<unknown>, op: keyof typeof changes) {
  const text = changes[op];
  const err = await run(text, text.includes("$1") ? [tenantId] : []).then(
    () => undefined,
    (e: unknown) => e as { code?: string; message?: string },
  );
  return { code: err?.code, message: err?.message };
}

async function rowsUnchanged() {
  const { rows } = await query<{ entity_id: string; new_status: string; reason: string | null }>(
    "select entity_id, new_status, reason from status_history where tenant_id = $1 and entity_type = 'job' order by id",
    [tenantId],
  );
  expect(rows).toEqual([
    { entity_id: "kept-1", new_status: "running", reason: null },
    { entity_id: "kept-2", new_status: "running", reason: null },
  ]);
}

describe("status_history is append-only", () => {
  for (const op of Object.keys(changes) as (keyof typeof changes)[]) {
    it(`refuses ${op} for the owner role (the one that migrates)`, async () => {
      expect(await refusal((t, p) => owner.query(t, p), op)).toEqual({
        code: "42501",
        message: `status_history is append-only: ${op} is refused`,
      });
      await rowsUnchanged();
    });

    it(`refuses ${op} for an application role GRANTed ${op.toLowerCase()}: the trigger, not a missing privilege`, async () => {
      const who = await app.query<{ user: string; superuser: boolean; allowed: boolean }>(
        `select current_user as user, r.rolsuper as superuser, has_table_privilege('status_history', $1) as allowed
         from pg_roles r where r.rolname = current_user`,
        [op],
      );
      expect(who.rows[0]).toEqual({ user: appRole, superuser: false, allowed: true });
      expect(await refusal((t, p) => app.query(t, p), op)).toEqual({
        code: "42501",
        message: `status_history is append-only: ${op} is refused`,
      });
      await rowsUnchanged();
    });
  }

  it("the application role may still append (its privileges are live)", async () => {
    const other = await makeTenant();
    const res = await app.query<{ id: number }>(
      `insert into status_history (tenant_id, entity_type, entity_id, new_status, actor)
       values ($1, 'job', 'by-app-role', 'running', 'system:test') returning id`,
      [other.id],
    );
    expect(res.rows).toHaveLength(1);
  });
});

describe("StatusHistory.record", () => {
  it("rolls back with the transaction it was recorded in", async () => {
    const id = `tx-${randomBytes(4).toString("hex")}`;
    const count = async () =>
      (await query<{ n: number }>("select count(*)::int as n from status_history where entity_id = $1", [id])).rows[0]
        ?.n;
    await expect(
      asSystem(() =>
        withTx(async () => {
          const rows = await StatusHistory.record(change({ entity_id: id, tenant_id: tenantId }));
          expect(rows).toHaveLength(1);
          throw new Error("the change failed after its history was recorded");
        }),
      ),
    ).rejects.toThrow();
    expect(await count()).toBe(0);
    await asSystem(() => withTx(() => StatusHistory.record(change({ entity_id: id, tenant_id: tenantId }))));
    expect(await count()).toBe(1);
  });

  it("writes many rows in one statement with the context's actor and correlation id", async () => {
    const t = await makeTenant();
    const key = await makeKey({ tenantId: t.id, role: "operator" });
    const ctx = { requestId: "r-1", correlationId: "corr-many" };
    const entries = Array.from({ length: 50 }, (_, i) => change({ entity_id: `many-${i}`, metadata: { i } }));
    const rows = await withContext(
      { ...ctx, actor: { type: "key", keyId: key.id, tenantId: t.id, role: "operator" } },
      () => StatusHistory.record(entries),
    );
    expect(rows).toHaveLength(50);
    const { rows: stored } = await query<{
      entity_id: string;
      actor: string;
      correlation_id: string;
      metadata: { i: number };
      at: string;
      tenant_id: string;
    }>(
      `select entity_id, actor, correlation_id, metadata, created_at::text as at, tenant_id
       from status_history where tenant_id = $1 and entity_type = 'job' order by id`,
      [t.id],
    );
    expect(stored.map((r) => r.entity_id)).toEqual(entries.map((e) => e.entity_id));
    expect(stored.map((r) => r.metadata.i)).toEqual(entries.map((_, i) => i));
    expect(new Set(stored.map((r) => `${r.tenant_id} ${r.actor} ${r.correlation_id}`))).toEqual(
      new Set([`${t.id} key:${key.id} corr-many`]),
    );
    // Outside a transaction every statement commits alone with its own now(): one created_at
    // for all 50 rows means one statement.
    expect(new Set(stored.map((r) => r.at)).size).toBe(1);

    const system = await withContext({ ...ctx, actor: { type: "system", name: "sweeper" } }, () =>
      StatusHistory.record([change({ tenant_id: t.id }), change({ tenant_id: t.id, actor: "key:explicit" })]),
    );
    expect(system.map((r) => [r.actor, r.correlation_id, r.tenant_id])).toEqual([
      ["system:sweeper", "corr-many", t.id],
      ["key:explicit", "corr-many", t.id],
    ]);
  });

  it("throws a ValidationError naming the bad entry before writing anything", async () => {
    const id = `valid-${randomBytes(4).toString("hex")}`;
    const err = await asSystem(() =>
      StatusHistory.record([
        change({ entity_id: id, tenant_id: tenantId }),
        change({ entity_type: "Bad Type", tenant_id: tenantId }),
        change({ new_status: "x".repeat(65), tenant_id: tenantId }),
      ]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: "status_history.invalid_entry" });
    const fields = ((err as ValidationError).details as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(fields).toEqual(["1.entity_type"]);
    const { rows } = await query("select 1 from status_history where entity_id = $1", [id]);
    expect(rows).toEqual([]);
    expect(await asSystem(() => StatusHistory.record([]))).toEqual([]);
  });
});
