import { config } from "../../core/config.ts";
import { configuredMigrator, type Migrator } from "../../core/platform/db/migrator.ts";
import { asSystem } from "../context.ts";
import { postgresFailure } from "../failures.ts";
import type { CommandSpec } from "../main.ts";

/**
 * Migrations run as the owner role (DATABASE_MIGRATION_URL) and grant the application role
 * (DATABASE_APP_ROLE, by default DATABASE_URL's user) its privileges; docs/decisions/0011.
 */
async function withMigrator(fn: (m: Migrator) => Promise<number>): Promise<number> {
  const { migrator, close } = await configuredMigrator("migrations", (m) => console.log(m));
  try {
    return await fn(migrator);
  } catch (e) {
    const c = config();
    const setting = c.databaseMigrationUrl === c.databaseUrl ? "DATABASE_URL" : "DATABASE_MIGRATION_URL";
    throw postgresFailure(e, c.databaseMigrationUrl, setting) ?? e;
  } finally {
    await close();
  }
}

export const commands: CommandSpec[] = [
  {
    name: "migrate up",
    usage: "migrate up [version]",
    summary: "Apply pending migrations (up to a version) as the owner role, then grant the application role",
    run: ({ positionals }) =>
      asSystem(() =>
        withMigrator(async (m) => {
          const target = positionals[0] === undefined ? undefined : Number(positionals[0]);
          const done = await m.up(target);
          console.log(done.length ? `applied ${done.length} migration(s)` : "nothing to apply");
          return 0;
        }),
      ),
  },
  {
    name: "migrate down",
    usage: "migrate down [n]",
    summary: "Revert the last n applied migrations (default 1)",
    run: ({ positionals }) =>
      asSystem(() =>
        withMigrator(async (m) => {
          const n = Number(positionals[0] ?? 1);
          if (!Number.isInteger(n) || n < 1) throw new Error("n must be a positive integer");
          const done = await m.down(n);
          console.log(`reverted ${done.length} migration(s)`);
          return 0;
        }),
      ),
  },
  {
    name: "migrate status",
    usage: "migrate status",
    summary: "List migrations and whether each is applied",
    run: () =>
      asSystem(() =>
        withMigrator(async (m) => {
          for (const s of await m.status()) {
            console.log(
              `${String(s.version).padStart(4, "0")}  ${s.state.padEnd(8)} ${s.name}${s.appliedAt ? `  ${s.appliedAt.toISOString()}` : ""}`,
            );
          }
          return 0;
        }),
      ),
  },
];
