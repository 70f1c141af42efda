/**
 * A bench's own database: `aos_bench_<name>_<pid>`, created and migrated, dropped at the end.
 * Two benches at once (they should not: they share two cores) never drop each other's database;
 * leftovers of killed runs (their pid gone) are dropped by the next run.
 */
import { fileURLToPath } from "node:url";
import pg from "pg";
import { config } from "../core/config.ts";
import { createPool } from "../core/platform/db/index.ts";
import { Migrator } from "../core/platform/db/migrator.ts";
import { LOCAL_APP_URL } from "../core/settings/platform.ts";
import { asUser } from "../local/db-roles.ts";

const migrationsDir = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * Where a bench makes its database: DATABASE_URL, or, while that is the local application role
 * (which may not create databases), the local superuser (LOCAL_PG_SUPERUSER) on the same server.
 * A bench's database has one role, as every database had before docs/decisions/0011.
 */
export function benchBaseUrl(): string {
  const c = config();
  return c.databaseUrl === LOCAL_APP_URL ? asUser(c.databaseUrl, c.local.pgSuperuser, "aos") : c.databaseUrl;
}

/** `url` with its database replaced. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function onAdmin<T>(baseUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: withDatabase(baseUrl, "postgres") });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface BenchDb {
  /** `aos_bench_<name>_<pid>` */
  readonly name: string;
  /** Create it (dropping dead runs' leftovers), migrate it, then run `extraSql` (a baseline's tables); its URL. */
  create(baseUrl: string, extraSql?: string): Promise<string>;
  drop(baseUrl: string): Promise<void>;
}

export function benchDb(bench: string): BenchDb {
  const prefix = `aos_bench_${bench}_`;
  const name = `${prefix}${process.pid}`;
  return {
    name,
    async create(baseUrl, extraSql) {
      await onAdmin(baseUrl, async (c) => {
        const { rows } = await c.query<{ datname: string }>("select datname from pg_database where datname like $1", [
          `${prefix.replaceAll("_", "\\_")}%`,
        ]);
        for (const { datname } of rows) {
          if (datname !== name && isAlive(Number(datname.slice(prefix.length)))) continue;
          await c.query(`drop database if exists "${datname}" with (force)`);
        }
        await c.query(`create database "${name}"`);
      });
      const url = withDatabase(baseUrl, name);
      const pool = await createPool({ url, driver: "pg", max: 1, statementTimeoutMs: 0 });
      try {
        await new Migrator(pool, migrationsDir, () => {}).up();
        if (extraSql) await pool.query(extraSql);
      } finally {
        await pool.end();
      }
      return url;
    },
    drop: (baseUrl) =>
      onAdmin(baseUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}
