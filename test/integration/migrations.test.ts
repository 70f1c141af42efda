import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPool, type Pool } from "../../core/platform/db/index.ts";
import { loadMigrations, MigrationError, Migrator } from "../../core/platform/db/migrator.ts";
import { dumpSchema } from "../setup/schema.ts";

const env = inject("aos");
const made: string[] = [];
const pools: Pool[] = [];

async function freshDb(): Promise<{ url: string; pool: Pool }> {
  const name = `aos_t_${process.pid}_mig${made.length}`;
  const c = new pg.Client({ connectionString: `${env.pgBase}/postgres` });
  await c.connect();
  await c.query(`drop database if exists "${name}" with (force)`);
  await c.query(`create database "${name}"`);
  await c.end();
  made.push(name);
  const url = `${env.pgBase}/${name}`;
  const pool = await createPool({ url, driver: "pg", max: 4, statementTimeoutMs: 30_000 });
  pools.push(pool);
  return { url, pool };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "aos-mig-"));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  const c = new pg.Client({ connectionString: `${env.pgBase}/postgres` });
  await c.connect();
  for (const name of made) await c.query(`drop database if exists "${name}" with (force)`);
  await c.end();
  rmSync(dir, { recursive: true, force: true });
});

const copyMigrations = (to: string) => {
  cpSync("migrations", to, { recursive: true });
  return to;
};

/** 3 -> "0003", as migration files are numbered. */
const pad = (n: number) => String(n).padStart(4, "0");

describe("migrations", () => {
  it("up -> down -> up from an empty database leaves the same schema", async () => {
    const { url, pool } = await freshDb();
    const m = new Migrator(pool, "migrations");
    const files = await loadMigrations("migrations");
    expect(await m.up()).toEqual(files.map((f) => f.version));
    const first = dumpSchema(url);
    expect(await m.down(files.length)).toEqual(files.map((f) => f.version).reverse());
    const empty = dumpSchema(url);
    expect(empty).not.toContain("CREATE TABLE public.tenants");
    expect(empty).toContain("CREATE TABLE public.schema_migrations");
    await m.up();
    expect(dumpSchema(url)).toBe(first);
    expect((await m.status()).every((s) => s.state === "applied")).toBe(true);
  });

  it("matches the committed snapshot test/schema.sql (UPDATE_SCHEMA_SNAPSHOT=1 rewrites it)", async () => {
    const dump = dumpSchema(`${env.pgBase}/${env.templateDb}`);
    if (process.env.UPDATE_SCHEMA_SNAPSHOT === "1") writeFileSync("test/schema.sql", dump);
    expect(
      existsSync("test/schema.sql"),
      "test/schema.sql is missing: run UPDATE_SCHEMA_SNAPSHOT=1 npx vitest run test/integration/migrations.test.ts",
    ).toBe(true);
    expect(dump, "migrations and test/schema.sql disagree: review the change, then UPDATE_SCHEMA_SNAPSHOT=1").toBe(
      readFileSync("test/schema.sql", "utf8"),
    );
  });

  it("refuses an applied file that was edited", async () => {
    const { pool } = await freshDb();
    const d = copyMigrations(join(dir, "edited"));
    const m = new Migrator(pool, d);
    await m.up();
    appendFileSync(join(d, "0001_tenancy.sql"), "\n-- a harmless-looking edit\n");
    await expect(m.up()).rejects.toThrow(/0001_tenancy\.sql was edited after it was applied/);
    await expect(m.status()).rejects.toBeInstanceOf(MigrationError);
  });

  it("refuses a gap in the numbering", async () => {
    const d = copyMigrations(join(dir, "gap"));
    const next = (await loadMigrations(d)).length + 1;
    writeFileSync(join(d, `${pad(next + 1)}_later.sql`), "-- migrate:up\nselect 1;\n-- migrate:down\nselect 1;\n");
    await expect(loadMigrations(d)).rejects.toThrow(
      new RegExp(`gap in migration numbering: expected ${pad(next)}, found ${pad(next + 1)}_later\\.sql`),
    );
  });

  it("refuses a file without a down part, and rolls back a failing migration whole", async () => {
    const d = copyMigrations(join(dir, "bad"));
    const applied = (await loadMigrations(d)).length;
    const next = pad(applied + 1);
    writeFileSync(
      join(d, `${next}_bad.sql`),
      "-- migrate:up\ncreate table half (id int);\nselect nope;\n-- migrate:down\ndrop table half;\n",
    );
    const { pool } = await freshDb();
    await expect(new Migrator(pool, d).up()).rejects.toThrow(new RegExp(`${next}_bad\\.sql`));
    const { rows } = await pool.query(
      "select to_regclass('public.half') as t, (select max(version) from schema_migrations) as v",
    );
    expect(rows[0]).toEqual({ t: null, v: applied });
    const d2 = copyMigrations(join(dir, "nodown"));
    writeFileSync(join(d2, `${next}_nodown.sql`), "-- migrate:up\nselect 1;\n");
    await expect(loadMigrations(d2)).rejects.toThrow(/migrate:down/);
  });

  it("two runners at once apply each migration once (advisory lock)", async () => {
    const { pool } = await freshDb();
    const [x, y] = await Promise.all([new Migrator(pool, "migrations").up(), new Migrator(pool, "migrations").up()]);
    const files = await loadMigrations("migrations");
    expect([...x, ...y].sort((a, b) => a - b)).toEqual(files.map((f) => f.version));
  });
});
