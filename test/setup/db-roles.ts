/**
 * Connections as the other database roles, for what the application role may not do
 * (docs/decisions/0011-db-roles.md): scratch tables as the owner (a migration would make them;
 * the application role gets its row privileges on them by default), roles as a superuser.
 */
import pg from "pg";
import { inject } from "vitest";
import { config } from "../../core/config.ts";
import { asUser } from "../../local/db-roles.ts";

async function on<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Run `sql` on the test file's database as the owner role (DATABASE_MIGRATION_URL). */
export const asOwner = (sql: string, params: unknown[] = []) =>
  on(config().databaseMigrationUrl, (c) => c.query(sql, params));

/** The test file's database as the suite's superuser (TEST_PG_URL's user). */
export function superuserUrl(): string {
  const base = new URL(inject("aos").pgBase);
  const db = decodeURIComponent(new URL(config().databaseUrl).pathname.slice(1));
  return asUser(base.toString(), decodeURIComponent(base.username) || "postgres", db);
}

/** Run `sql` on the test file's database as the superuser. */
export const asSuperuser = (sql: string, params: unknown[] = []) => on(superuserUrl(), (c) => c.query(sql, params));
