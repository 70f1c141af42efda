/**
 * Plain-SQL migrations: `migrations/NNNN_name.sql`, each with a `-- migrate:up` part and a
 * `-- migrate:down` part, each part run in one transaction.
 *
 * The runner holds a session advisory lock for its whole run (so two deploys never migrate at
 * once; on Neon use the direct URL, not `-pooler`), records a sha256 of every applied file, and
 * refuses to run when an applied file was edited, when an applied file is missing, or when the
 * numbering has a gap.
 *
 * Given the application's role (`appRole`), it sets `aos.app_role` in each migration's
 * transaction (so a migration can grant to it without naming it) and, after every `up`, calls
 * `aos_grant_app_role` (migration 0012), so the application role has exactly the privileges it
 * needs on every table, including those of later migrations (docs/decisions/0011-db-roles.md).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { config } from "../../config.ts";
import { createPool, type Pool } from "./pool.ts";

export interface Migration {
  version: number;
  name: string;
  file: string;
  up: string;
  down: string;
  checksum: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Arbitrary constant: the advisory lock key of the migrator (bigint; "aosmig" in hex). */
const LOCK_KEY = "107131305814375"; // 0x616f736d6967
const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function parseMigration(file: string, text: string): Migration {
  const m = FILE.exec(file);
  if (!m?.[1] || !m[2]) throw new MigrationError(`${file}: name must look like 0001_create_things.sql`);
  const upAt = text.indexOf("-- migrate:up");
  const downAt = text.indexOf("-- migrate:down");
  if (upAt < 0 || downAt < 0 || downAt < upAt) {
    throw new MigrationError(`${file}: needs a "-- migrate:up" part followed by a "-- migrate:down" part`);
  }
  return {
    version: Number(m[1]),
    name: m[2],
    file,
    up: text.slice(upAt + "-- migrate:up".length, downAt).trim(),
    down: text.slice(downAt + "-- migrate:down".length).trim(),
    checksum: createHash("sha256").update(text).digest("hex"),
  };
}

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const migrations = await Promise.all(files.map(async (f) => parseMigration(f, await readFile(join(dir, f), "utf8"))));
  migrations.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new MigrationError(
        `gap in migration numbering: expected ${String(i + 1).padStart(4, "0")}, found ${mig.file}`,
      );
    }
  });
  return migrations;
}

export interface MigrationStatus {
  version: number;
  name: string;
  state: "applied" | "pending";
  appliedAt?: Date;
}

export interface MigratorOptions {
  /** The role the application connects as: granted its privileges by the migrations (none: no grants). */
  appRole?: string | undefined;
}

export class Migrator {
  constructor(
    private readonly pool: Pool,
    private readonly dir: string,
    private readonly log: (msg: string) => void = () => {},
    private readonly options: MigratorOptions = {},
  ) {}

  /** Apply every pending migration (or up to `target`). Returns the versions applied. */
  up(target?: number): Promise<number[]> {
    return this.locked(async (client, files, applied) => {
      const done: number[] = [];
      for (const mig of files.slice(applied.length)) {
        if (target !== undefined && mig.version > target) break;
        await this.inTx(client, mig, mig.up, async () => {
          await client.query("insert into schema_migrations (version, name, checksum) values ($1, $2, $3)", [
            mig.version,
            mig.name,
            mig.checksum,
          ]);
        });
        this.log(`applied ${mig.file}`);
        done.push(mig.version);
      }
      await this.grantAppRole(client);
      return done;
    }, true);
  }

  /** Re-grant the application role its privileges (idempotent), once the grant function exists. */
  private async grantAppRole(client: Awaited<ReturnType<Pool["connect"]>>): Promise<void> {
    const role = this.options.appRole;
    if (!role) return;
    const { rows } = await client.query<{ ok: boolean }>(
      "select to_regprocedure('aos_grant_app_role(text)') is not null as ok",
    );
    if (!rows[0]?.ok) return;
    try {
      await client.query("select aos_grant_app_role($1)", [role]);
    } catch (e) {
      throw new MigrationError(
        `granting the application role "${role}" its privileges failed: ${(e as Error).message} (create the role, or set DATABASE_APP_ROLE; docs/deploy.md)`,
        { cause: e },
      );
    }
  }

  /** Revert the last `steps` applied migrations (default 1). Returns the versions reverted. */
  down(steps = 1): Promise<number[]> {
    return this.locked(async (client, files, applied) => {
      const done: number[] = [];
      for (const row of applied.slice(-steps).reverse()) {
        const mig = files[row.version - 1] as Migration;
        await this.inTx(client, mig, mig.down, async () => {
          await client.query("delete from schema_migrations where version = $1", [mig.version]);
        });
        this.log(`reverted ${mig.file}`);
        done.push(mig.version);
      }
      return done;
    }, true);
  }

  status(): Promise<MigrationStatus[]> {
    return this.locked(async (_client, files, applied) =>
      files.map((f) => {
        const a = applied.find((r) => r.version === f.version);
        return { version: f.version, name: f.name, state: a ? "applied" : "pending", appliedAt: a?.appliedAt };
      }),
    );
  }

  private async inTx(
    client: Awaited<ReturnType<Pool["connect"]>>,
    mig: Migration,
    sql: string,
    record: () => Promise<void>,
  ): Promise<void> {
    await client.query("begin");
    try {
      // Transaction-local: what a migration reads with current_setting('aos.app_role', true).
      await client.query("select set_config('aos.app_role', $1, true)", [this.options.appRole ?? ""]);
      if (sql) await client.query(sql);
      await record();
      await client.query("commit");
    } catch (e) {
      // A connection that died mid-migration cannot roll back (the server already did); keep
      // the migration's own error rather than the rollback's.
      await client.query("rollback").catch(() => {});
      throw new MigrationError(`${mig.file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** `writes`: up or down, which create the bookkeeping table; status only reads (as the application role can). */
  private async locked<T>(
    fn: (client: Awaited<ReturnType<Pool["connect"]>>, files: Migration[], applied: AppliedMigration[]) => Promise<T>,
    writes = false,
  ): Promise<T> {
    const files = await loadMigrations(this.dir);
    // The pool's clients listen for 'error' while checked out, so a connection killed under a
    // migration fails this run (MigrationError) instead of the process, and is closed on release.
    const client = await this.pool.connect();
    let failure: unknown;
    try {
      await client.query("select pg_advisory_lock($1)", [LOCK_KEY]);
      try {
        if (writes) {
          await client.query(`create table if not exists schema_migrations (
          version integer primary key,
          name text not null,
          checksum text not null,
          applied_at timestamptz not null default now())`);
        } else {
          const { rows: t } = await client.query<{ ok: boolean }>(
            "select to_regclass('schema_migrations') is not null as ok",
          );
          if (!t[0]?.ok) return await fn(client, files, []);
        }
        const { rows } = await client.query<AppliedMigration>(
          `select version, name, checksum, applied_at as "appliedAt" from schema_migrations order by version`,
        );
        rows.forEach((row, i) => {
          const file = files[i];
          if (row.version !== i + 1) throw new MigrationError(`applied migrations have a gap before ${row.version}`);
          if (!file)
            throw new MigrationError(`migration ${row.version} (${row.name}) is applied but its file is missing`);
          if (file.checksum !== row.checksum) {
            throw new MigrationError(
              `${file.file} was edited after it was applied (checksum ${row.checksum.slice(0, 12)} -> ${file.checksum.slice(0, 12)}); add a new migration instead`,
            );
          }
        });
        return await fn(client, files, rows);
      } catch (e) {
        failure = e;
        throw e;
      } finally {
        // Unlocking on a dead connection fails, and need not succeed (the session's lock died
        // with it): the run's own error is the one to report.
        await client.query("select pg_advisory_unlock($1)", [LOCK_KEY]).catch((e: unknown) => {
          if (failure === undefined) throw e;
        });
      }
    } finally {
      client.release();
    }
  }
}

/**
 * A migrator as configured: on the owner role's URL (DATABASE_MIGRATION_URL), granting the
 * application role (DATABASE_APP_ROLE, by default the user of DATABASE_URL). Its own pool of one
 * connection, without a statement timeout (an index on a big table may take minutes); `close` ends it.
 *
 * @example
 *   const { migrator, close } = await configuredMigrator("migrations", console.log);
 *   try { await migrator.up(); } finally { await close(); }
 */
export async function configuredMigrator(
  dir: string,
  log: (msg: string) => void = () => {},
): Promise<{ migrator: Migrator; close: () => Promise<void> }> {
  const c = config();
  const pool = await createPool({
    url: c.databaseMigrationUrl,
    driver: c.dbDriver,
    max: 1,
    statementTimeoutMs: 0,
    applicationName: "aos-migrate",
  });
  return { migrator: new Migrator(pool, dir, log, { appRole: c.databaseAppRole }), close: () => pool.end() };
}
