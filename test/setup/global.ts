/**
 * Runs once per `vitest run`: makes sure Postgres and Redis answer and that the owner and
 * application database roles exist (as `npm start` makes them, docs/decisions/0011-db-roles.md),
 * migrates a template database once as the owner role, granting the application role (each test
 * file clones it and runs as the application role, see per-file.ts), and starts s3rver and
 * fauxqs on random ports.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createPool } from "../../core/platform/db/index.ts";
import { Migrator } from "../../core/platform/db/migrator.ts";
import { asUser, ensureLoginRoles } from "../../local/db-roles.ts";
import { startEmulators } from "../../local/emulators.ts";
import { ensurePostgres, ensureRedis } from "../../local/services.ts";

declare module "vitest" {
  export interface ProvidedContext {
    aos: {
      pgBase: string;
      templateDb: string;
      /** The roles test databases are owned by and the application connects as. */
      roles: { owner: string; app: string };
      redisUrl: string;
      s3Endpoint: string;
      sqsEndpoint: string;
    };
  }
}

const pgBase = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** The same names `npm start` uses: roles are per server, and these carry no privileges outside a database. */
const roles = { owner: "aos_owner", app: "aos_app" };

export default async function setup(project: TestProject) {
  const templateDb = `aos_tpl_${process.pid}`;
  const adminUrl = `${pgBase}/postgres`;
  await ensurePostgres(adminUrl, ".aos");
  await ensureRedis(redisUrl, ".aos");

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  // Leftovers of runs that were killed: databases of this suite whose process is gone.
  const { rows } = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like 'aos\\_tpl\\_%' or datname like 'aos\\_t\\_%'",
  );
  for (const { datname } of rows) {
    const pid = Number(/_(\d+)(?:_|$)/.exec(datname)?.[1]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid || datname === templateDb;
    } catch {}
    if (!alive) await admin.query(`drop database if exists "${datname}" with (force)`);
  }
  await admin.query(`drop database if exists "${templateDb}" with (force)`);
  const ownerUrl = asUser(adminUrl, roles.owner, templateDb);
  await ensureLoginRoles(adminUrl, [ownerUrl, asUser(adminUrl, roles.app)]);
  await admin.query(`create database "${templateDb}" owner ${roles.owner}`);
  const pool = await createPool({ url: ownerUrl, driver: "pg", max: 1, statementTimeoutMs: 60_000 });
  await new Migrator(pool, "migrations", () => {}, { appRole: roles.app }).up();
  await pool.end();

  const s3Dir = mkdtempSync(join(tmpdir(), "aos-s3-"));
  const emu = await startEmulators({ bucket: "aos-test", s3Dir, queuePrefix: "global-" });
  project.provide("aos", {
    pgBase,
    templateDb,
    roles,
    redisUrl,
    s3Endpoint: emu.s3Endpoint,
    sqsEndpoint: emu.sqsEndpoint,
  });

  return async () => {
    await emu.stop();
    rmSync(s3Dir, { recursive: true, force: true });
    await admin.query(`drop database if exists "${templateDb}" with (force)`);
    await admin.end();
  };
}
