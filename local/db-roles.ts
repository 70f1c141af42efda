/**
 * The two database roles of a local AOS (docs/decisions/0011-db-roles.md): the owner role
 * (DATABASE_MIGRATION_URL's user) owns the database and everything in it and runs migrations;
 * the application role (DATABASE_URL's user) logs in with no privileges of its own, and the
 * migrations grant it what the application needs. `npm start` and the test suite make both
 * here, as a superuser of the local server; a deployed stage makes them once by hand
 * (docs/deploy.md).
 */
import type pg from "pg";
import { connectWhenReady, createDatabase, hostOf, isLocal } from "./services.ts";

type Say = (msg: string) => void;

export interface LocalDbRoles {
  /** The owner role's URL: its user owns the database (and gets one when it has none). */
  ownerUrl: string;
  /** The application's URL: its user is made a login role without privileges. */
  appUrl: string;
  /** A superuser of the same server (`LOCAL_PG_SUPERUSER`). */
  superuser: string;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const userOf = (url: string) => decodeURIComponent(new URL(url).username);
const dbOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";

/** `url`'s server as `user` (no password), database `db`. */
export function asUser(url: string, user: string, db = "postgres"): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = "";
  u.pathname = `/${encodeURIComponent(db)}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connectWhenReady(url);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Concurrent creators (parallel test runs, a second `npm start`) race; the loser's error is harmless. */
const alreadyThere = (e: unknown) => ["42710", "42P04", "23505"].includes((e as { code?: string }).code ?? "");

/**
 * Make each URL's user a login role (with the URL's password, if any) unless it exists.
 * `adminUrl`: a superuser (or CREATEROLE) connection to the same server.
 */
export async function ensureLoginRoles(adminUrl: string, urls: string[], say: Say = () => {}): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const seen = new Set<string>();
    for (const url of urls) {
      const user = userOf(url);
      if (!user || seen.has(user)) continue;
      seen.add(user);
      const { rowCount } = await c.query("select 1 from pg_roles where rolname = $1", [user]);
      if (rowCount) continue;
      const password = decodeURIComponent(new URL(url).password);
      try {
        await c.query(`create role ${ident(user)} login${password ? ` password ${literal(password)}` : ""}`);
        say(`created the database role ${user}`);
      } catch (e) {
        if (!alreadyThere(e)) throw e;
      }
    }
  });
}

/**
 * The database of `ownerUrl`, owned by its user, and so is every table, sequence and function in
 * its `public` schema: a database made before the split belongs to whoever migrated it, and the
 * owner role could not migrate it further.
 */
export async function ensureOwnedDatabase(adminUrl: string, ownerUrl: string, say: Say = () => {}): Promise<void> {
  const owner = userOf(ownerUrl);
  const db = dbOf(ownerUrl);
  await withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ dba: string }>(
      "select pg_get_userbyid(datdba) as dba from pg_database where datname = $1",
      [db],
    );
    if (!rows[0]) {
      try {
        await c.query(`create database ${ident(db)} owner ${ident(owner)}`);
      } catch (e) {
        if (!alreadyThere(e)) throw e;
      }
    } else if (rows[0].dba !== owner) {
      await c.query(`alter database ${ident(db)} owner to ${ident(owner)}`);
      say(`database ${db} now belongs to ${owner} (was ${rows[0].dba})`);
    }
  });
  await withClient(asUser(adminUrl, userOf(adminUrl), db), async (c) => {
    // Identity and serial sequences follow their table; other sequences move on their own.
    const { rows } = await c.query<{ stmt: string }>(
      `select format('alter table %s owner to %I', c.oid::regclass, CAST($1 AS text)) as stmt
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm') and pg_get_userbyid(c.relowner) <> CAST($1 AS text)
       union all
       select format('alter sequence %s owner to %I', c.oid::regclass, CAST($1 AS text))
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'S' and pg_get_userbyid(c.relowner) <> CAST($1 AS text)
          and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i'))
       union all
       select format('alter routine %s owner to %I', p.oid::regprocedure, CAST($1 AS text))
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and pg_get_userbyid(p.proowner) <> CAST($1 AS text)`,
      [owner],
    );
    for (const { stmt } of rows) await c.query(stmt);
    if (rows.length) say(`${rows.length} object(s) of database ${db} now belong to ${owner}`);
  });
}

/**
 * `npm start`'s database: on a local server, the owner and application roles (made as
 * LOCAL_PG_SUPERUSER) and the database owned by the owner; elsewhere (a server AOS does not
 * manage) only the database, made as the owner role, as before the split.
 */
export async function ensureLocalDatabase(r: LocalDbRoles, say: Say = () => {}): Promise<void> {
  if (!isLocal(hostOf(new URL(r.ownerUrl)))) {
    await createDatabase(r.ownerUrl);
    return;
  }
  const admin = asUser(r.ownerUrl, r.superuser);
  await ensureLoginRoles(admin, [r.ownerUrl, r.appUrl], say);
  await ensureOwnedDatabase(admin, r.ownerUrl, say);
}
