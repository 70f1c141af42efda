/**
 * Two database roles (docs/decisions/0011-db-roles.md): the application connects as a role that
 * may read and write rows and, on append-only tables, only INSERT and SELECT; the owner role ran
 * the migrations and owns every table, trigger and function. Every way found for the
 * application role to rewrite history is refused by Postgres itself.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { config } from "../../core/config.ts";
import { createPool } from "../../core/platform/db/index.ts";
import { loadMigrations, Migrator } from "../../core/platform/db/migrator.ts";
import { asUser, ensureLocalDatabase } from "../../local/db-roles.ts";
import { makeTenant } from "../factories/tenancy.ts";

const env = inject("aos");
let app: pg.Client;
let tenantId: string;

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** What is in both append-only tables, to compare before and after every attempt. */
async function fingerprint(c: pg.Client) {
  const { rows } = await c.query<{ t: string; n: number; digest: string }>(
    `select 'status_history' as t, count(*)::int as n, md5(coalesce(string_agg(s::text, '|' order by id), '')) as digest
       from status_history s
     union all
     select 'credit_ledger', count(*)::int, md5(coalesce(string_agg(l::text, '|' order by id), '')) from credit_ledger l`,
  );
  return rows;
}

beforeAll(async () => {
  tenantId = (await makeTenant()).id;
  app = await connect(config().databaseUrl);
  await app.query(
    `insert into status_history (tenant_id, entity_type, entity_id, new_status, actor)
     values ($1, 'job', 'kept', 'running', 'system:test')`,
    [tenantId],
  );
  await app.query(
    `insert into credit_ledger (tenant_id, kind, amount, balance_delta, reserved_delta, idempotency_key, actor)
     values ($1, 'grant', 5, 5, 0, $2, 'system:test')`,
    [tenantId, `roles-${randomBytes(4).toString("hex")}`],
  );
});

afterAll(async () => {
  await app?.end();
});

/**
 * Every attempt found to undo an append-only table's protection or rewrite its rows, for each of
 * the two tables. `{t}` is the table, `{f}` its trigger function, `{trg}` its UPDATE/DELETE
 * trigger, `{cols}` columns a row needs.
 */
const attempts: [string, string][] = [
  ["DROP TRIGGER", "drop trigger {trg} on {t}"],
  ["ALTER TABLE ... DISABLE TRIGGER", "alter table {t} disable trigger {trg}"],
  ["ALTER TABLE ... DISABLE TRIGGER ALL", "alter table {t} disable trigger all"],
  ["ALTER TRIGGER ... RENAME", "alter trigger {trg} on {t} rename to {trg}_off"],
  ["TRUNCATE", "truncate {t}"],
  ["DELETE", "delete from {t}"],
  ["UPDATE", "update {t} set actor = 'forged'"],
  [
    "INSERT ... ON CONFLICT DO UPDATE",
    "insert into {t} ({cols}) select {cols} from {t} limit 1 on conflict (id) do update set actor = 'forged'",
  ],
  ["DROP TABLE", "drop table {t} cascade"],
  [
    "CREATE OR REPLACE FUNCTION (the trigger's)",
    "create or replace function {f}() returns trigger language plpgsql as $$ begin return coalesce(new, old); end $$",
  ],
  ["DROP FUNCTION (the trigger's)", "drop function {f}() cascade"],
  ["ALTER FUNCTION ... RENAME", "alter function {f}() rename to {f}_off"],
  ["ALTER TABLE ... RENAME (swap in a copy)", "alter table {t} rename to {t}_old"],
  ["ALTER TABLE ... OWNER TO itself", "alter table {t} owner to current_user"],
  ["CREATE RULE (rewrite UPDATE)", "create rule {t}_forge as on insert to {t} do instead nothing"],
  [
    "CREATE TRIGGER (a BEFORE INSERT that forges rows)",
    "create trigger {t}_forge before insert on {t} for each row execute function {f}()",
  ],
  ["SET session_replication_role = replica (triggers stop firing)", "set session_replication_role = replica"],
  ["SET ROLE to the owner", "set role aos_owner"],
  ["SELECT ... FOR UPDATE (block appends)", "select id from {t} for update"],
  ["LOCK TABLE ... ACCESS EXCLUSIVE (block appends)", "lock table {t} in access exclusive mode"],
  ["CREATE TABLE in public (shadow it)", "create table public.{t}_shadow (id int)"],
];

const tables = [
  {
    t: "status_history",
    f: "status_history_refuse_change",
    trg: "status_history_no_update_delete",
    cols: "tenant_id, entity_type, entity_id, new_status, actor",
  },
  {
    t: "credit_ledger",
    f: "credit_ledger_refuse_change",
    trg: "credit_ledger_no_update_delete",
    cols: "tenant_id, kind, amount, balance_delta, reserved_delta, idempotency_key, actor",
  },
];

describe("the application role (DATABASE_URL)", () => {
  it("is neither a superuser nor the owner, nor a member of the owner role", async () => {
    const { rows } = await app.query(
      `select current_user as user, r.rolsuper as superuser, r.rolcreaterole as createrole,
              pg_has_role(current_user, 'aos_owner', 'member') as member_of_owner,
              (select pg_get_userbyid(relowner) from pg_class where oid = 'status_history'::regclass) as owner
         from pg_roles r where r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({
      user: env.roles.app,
      superuser: false,
      createrole: false,
      member_of_owner: false,
      owner: env.roles.owner,
    });
  });

  for (const tbl of tables) {
    describe(`cannot rewrite ${tbl.t}`, () => {
      for (const [what, template] of attempts) {
        it(`refuses ${what}`, async () => {
          const sql = template
            .replaceAll("{trg}", tbl.trg)
            .replaceAll("{cols}", tbl.cols)
            .replaceAll("{t}", tbl.t)
            .replaceAll("{f}", tbl.f);
          const before = await fingerprint(app);
          await app.query("begin");
          const err = await app.query(sql).then(
            () => undefined,
            (e: { code?: string; message?: string }) => e,
          );
          await app.query("rollback");
          expect(err?.code, `${sql} was accepted`).toBe("42501");
          expect(await fingerprint(app)).toEqual(before);
        });
      }
    });
  }

  it("may still append to and read both tables, and write ordinary tables", async () => {
    await app.query(
      `insert into status_history (tenant_id, entity_type, entity_id, new_status, actor)
       values ($1, 'job', 'appended', 'running', 'system:test')`,
      [tenantId],
    );
    const { rows } = await app.query("select count(*)::int as n from status_history where tenant_id = $1", [tenantId]);
    expect(rows[0].n).toBeGreaterThanOrEqual(2);
    const upd = await app.query("update tenants set name = name where id = $1", [tenantId]);
    expect(upd.rowCount).toBe(1);
  });

  it("has exactly the row privileges it needs on every table, and owns nothing", async () => {
    const { rows } = await app.query<{ table: string; privileges: string; owner: string }>(
      `select c.relname as table, pg_get_userbyid(c.relowner) as owner,
              concat_ws(',', case when has_table_privilege(c.oid, 'SELECT') then 'select' end,
                             case when has_table_privilege(c.oid, 'INSERT') then 'insert' end,
                             case when has_table_privilege(c.oid, 'UPDATE') then 'update' end,
                             case when has_table_privilege(c.oid, 'DELETE') then 'delete' end,
                             case when has_table_privilege(c.oid, 'TRUNCATE') then 'truncate' end,
                             case when has_table_privilege(c.oid, 'TRIGGER') then 'trigger' end,
                             case when has_table_privilege(c.oid, 'REFERENCES') then 'references' end) as privileges
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r' order by 1`,
    );
    const rw = "select,insert,update,delete";
    const expected = Object.fromEntries(rows.map((r) => [r.table, rw]));
    expected.status_history = "select,insert";
    expected.credit_ledger = "select,insert";
    expected.workflow_ops = "select,insert";
    expected.schema_migrations = "select";
    // Only the recovery columns are updatable (column grants: has_table_privilege says no UPDATE).
    expected.failure_matches = "select,insert,delete";
    expect(Object.fromEntries(rows.map((r) => [r.table, r.privileges]))).toEqual(expected);
    expect(new Set(rows.map((r) => r.owner))).toEqual(new Set([env.roles.owner]));
  });
});

describe("the owner role (DATABASE_MIGRATION_URL)", () => {
  it("is refused UPDATE, DELETE and TRUNCATE of history by the triggers", async () => {
    const owner = await connect(config().databaseMigrationUrl);
    try {
      for (const t of ["status_history", "credit_ledger"]) {
        for (const sql of [`update ${t} set actor = 'forged'`, `delete from ${t}`, `truncate ${t}`]) {
          const err = await owner.query(sql).then(
            () => undefined,
            (e: { code?: string; message?: string }) => e,
          );
          expect(err?.message, sql).toMatch(new RegExp(`^${t} is append-only: (UPDATE|DELETE|TRUNCATE) is refused$`));
        }
      }
    } finally {
      await owner.end();
    }
  });
});

describe("grants come from configuration, not from history", () => {
  const made: string[] = [];
  let dir: string;
  const superuser = async <T>(fn: (c: pg.Client) => Promise<T>) => {
    const c = await connect(`${env.pgBase}/postgres`);
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "aos-roles-"));
  });
  afterAll(async () => {
    await superuser(async (c) => {
      for (const db of made) await c.query(`drop database if exists "${db}" with (force)`);
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it("a later append-only table loses UPDATE and DELETE, an ordinary one gets them; a role set after migrating is granted at the next up", async () => {
    const db = `aos_t_${process.pid}_roles${made.length}`;
    made.push(db);
    await superuser((c) => c.query(`create database "${db}" owner ${env.roles.owner}`));
    const pool = await createPool({
      url: asUser(env.pgBase, env.roles.owner, db),
      driver: "pg",
      max: 1,
      statementTimeoutMs: 0,
    });
    const appOn = async <T>(fn: (c: pg.Client) => Promise<T>) => {
      const c = await connect(asUser(env.pgBase, env.roles.app, db));
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    };
    try {
      // Migrated with no application role configured: the app role may read nothing.
      await new Migrator(pool, "migrations").up();
      const denied = await appOn((c) =>
        c.query("select 1 from tenants").then(
          () => "read",
          (e: { code: string }) => e.code,
        ),
      );
      expect(denied).toBe("42501");

      // A later migration adds an append-only table and an ordinary one; the role is configured now.
      const d = join(dir, "later");
      cpSync("migrations", d, { recursive: true });
      const next = String((await loadMigrations(d)).length + 1).padStart(4, "0");
      writeFileSync(
        join(d, `${next}_later.sql`),
        `-- migrate:up
create table audit_log (id bigint generated always as identity primary key, what text not null);
create trigger audit_log_no_update_delete before update or delete on audit_log
  for each row execute function status_history_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function status_history_refuse_change();
create table notes (id bigint generated always as identity primary key, body text not null);
-- migrate:down
drop table notes;
drop table audit_log;
`,
      );
      await new Migrator(pool, d, () => {}, { appRole: env.roles.app }).up();
      const privileges = await appOn(async (c) => {
        const { rows } = await c.query(
          `select t, has_table_privilege(t, 'INSERT') as ins, has_table_privilege(t, 'UPDATE') as upd,
                  has_table_privilege(t, 'DELETE') as del
             from unnest(array['audit_log', 'notes', 'tenants', 'status_history']) as t`,
        );
        return rows;
      });
      expect(privileges).toEqual([
        { t: "audit_log", ins: true, upd: false, del: false },
        { t: "notes", ins: true, upd: true, del: true },
        { t: "tenants", ins: true, upd: true, del: true },
        { t: "status_history", ins: true, upd: false, del: false },
      ]);
      // No migration file names the role: it is the migrator's setting.
      for (const m of await loadMigrations("migrations")) expect(m.up + m.down).not.toContain(env.roles.app);
    } finally {
      await pool.end();
    }
  });

  it("npm start adopts a database made before the split: the owner role takes it over and migrates on", async () => {
    const db = `aos_t_${process.pid}_roles${made.length}`;
    made.push(db);
    const su = decodeURIComponent(new URL(env.pgBase).username) || "postgres";
    await superuser((c) => c.query(`create database "${db}"`));
    // As every local database was before: migrated by the superuser, who owns everything.
    const old = await createPool({ url: asUser(env.pgBase, su, db), driver: "pg", max: 1, statementTimeoutMs: 0 });
    await new Migrator(old, "migrations").up(11);
    await old.end();

    const ownerUrl = asUser(env.pgBase, env.roles.owner, db);
    const said: string[] = [];
    await ensureLocalDatabase({ ownerUrl, appUrl: asUser(env.pgBase, env.roles.app, db), superuser: su }, (m) =>
      said.push(m),
    );
    expect(said.join("\n")).toMatch(new RegExp(`database ${db} now belongs to ${env.roles.owner} \\(was ${su}\\)`));
    const pool = await createPool({ url: ownerUrl, driver: "pg", max: 1, statementTimeoutMs: 0 });
    try {
      // Every migration after the eleventh it was made with.
      const later = readdirSync("migrations")
        .filter((f) => /^\d{4}_.*\.sql$/.test(f))
        .map((f) => Number(f.slice(0, 4)))
        .filter((v) => v > 11)
        .sort((x, y) => x - y);
      expect(await new Migrator(pool, "migrations", () => {}, { appRole: env.roles.app }).up()).toEqual(later);
      const { rows } = await pool.query<{ owners: string }>(
        `select string_agg(distinct pg_get_userbyid(c.relowner), ',') as owners
           from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'`,
      );
      expect(rows[0]?.owners).toBe(env.roles.owner);
    } finally {
      await pool.end();
    }
    const app = await connect(asUser(env.pgBase, env.roles.app, db));
    try {
      const err = await app.query("delete from status_history").then(
        () => undefined,
        (e: { code?: string }) => e.code,
      );
      expect(err).toBe("42501");
    } finally {
      await app.end();
    }
  });
});
