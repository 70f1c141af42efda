/**
 * Make sure Postgres and Redis answer before AOS (or the test suite) starts, and that the
 * Prometheus tools the monitoring tests run are installed.
 *
 * Order of attempts for each: it already answers -> start a private instance under `.aos/` with
 * the binaries this machine has -> install them with apt when running as root -> give up with a
 * message that says what to do. Private instances keep running after the process exits (like a
 * database you started yourself; the test suite may be using them too) and are reused next time;
 * `aos dev --stop-services` stops them, and the private Alertmanager (local/alertmanager.ts) too.
 */
import { execFile as execFileCb, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { stopLocalAlertmanager } from "./alertmanager.ts";

const execFile = promisify(execFileCb);

export class ServiceError extends Error {
  override name = "ServiceError";
}

type Say = (msg: string) => void;
/** "running": it already answered; "started": a private instance under the data dir was started. */
export type ServiceState = "running" | "started";

function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const s = createConnection({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      done(false);
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(t);
      s.end();
      done(true);
    });
    s.once("error", () => {
      clearTimeout(t);
      done(false);
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ServiceError(`${what} did not come up within ${timeoutMs / 1000}s`);
}

export const isLocal = (host: string) => ["127.0.0.1", "localhost", "::1", ""].includes(host);
const isRoot = () => process.getuid?.() === 0;
export const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";

function aptInstall(pkgs: string[], say: Say): void {
  say(`installing ${pkgs.join(", ")} with apt-get (running as root)`);
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...pkgs]]) {
    // `env VAR=... cmd`: the child gets the inherited environment plus this one variable.
    const r = spawnSync("env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", ...args], { stdio: "ignore" });
    if (r.status !== 0) throw new ServiceError(`apt-get ${args[0]} failed (exit ${r.status})`);
  }
}

function pgBinDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], "bin") : undefined;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` system user. */
const asPgUser = (cmd: string, args: string[]) =>
  isRoot() ? execFile("runuser", ["-u", "postgres", "--", cmd, ...args]) : execFile(cmd, args);

/**
 * Ensure the Postgres server of `url` answers and (unless `createDb` is false: local/db-roles.ts
 * makes it, owned by the owner role) the database of `url` exists.
 */
export async function ensurePostgres(
  url: string,
  dataDir: string,
  say: Say = () => {},
  createDb = true,
): Promise<ServiceState> {
  const u = new URL(url);
  const host = hostOf(u);
  const port = Number(u.port || 5432);
  let state: ServiceState = "running";
  if (!(await tcpAnswers(host, port))) {
    if (!isLocal(host)) throw new ServiceError(`Postgres at ${host}:${port} does not answer (DATABASE_URL)`);
    let bin = pgBinDir();
    if (!bin && isRoot()) {
      aptInstall(["postgresql"], say);
      bin = pgBinDir();
    }
    if (!bin) {
      throw new ServiceError(
        `Postgres does not answer on ${host}:${port} and no server is installed. Install it (apt-get install postgresql) or set DATABASE_URL.`,
      );
    }
    await startPrivatePostgres(bin, resolve(dataDir, "postgres"), host, port, say);
    state = "started";
  }
  if (createDb) await createDatabase(url);
  return state;
}

export async function createDatabase(url: string): Promise<void> {
  const dbName = decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = await connectWhenReady(admin.toString());
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [dbName]);
    if (!rowCount) {
      try {
        await client.query(`create database "${dbName.replace(/"/g, '""')}"`);
      } catch (e) {
        // Someone else (a parallel test run, a second `aos dev`) created it first: fine.
        const code = (e as { code?: string }).code;
        if (code !== "42P04" && code !== "23505") throw e;
      }
    }
  } finally {
    await client.end();
  }
}

/** A server that accepts TCP may still be starting up or recovering (57P03): wait for it. */
export async function connectWhenReady(url: string, timeoutMs = 30_000): Promise<pg.Client> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    // A connection dropped between queries emits 'error'; unheard, that would end `npm start`.
    // The next query on it fails and says why, which is where the caller hears of it.
    client.on("error", () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      await client.end().catch(() => {});
      if ((e as { code?: string }).code !== "57P03" || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function startPrivatePostgres(bin: string, dir: string, host: string, port: number, say: Say) {
  const data = join(dir, "data");
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (id.status !== 0) throw new ServiceError("running as root, but there is no `postgres` user to run Postgres as");
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  if (!existsSync(join(data, "PG_VERSION"))) {
    say(`initialising a private Postgres in ${data}`);
    await asPgUser(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  }
  say(`starting a private Postgres on ${host}:${port} (data in ${data})`);
  // "localhost" makes Postgres listen on every loopback address the name resolves to.
  const listen = host === "::1" ? "::1" : host === "127.0.0.1" ? "127.0.0.1" : "localhost";
  const options = `-p ${port} -k "${dir}" -c listen_addresses=${listen}`;
  try {
    await asPgUser(join(bin, "pg_ctl"), ["-D", data, "-l", join(dir, "postgres.log"), "-w", "start", "-o", options]);
  } catch (e) {
    // Another process may have started the same instance a moment earlier.
    if (!(await tcpAnswers(host, port))) {
      throw new ServiceError(`could not start Postgres (see ${join(dir, "postgres.log")}): ${(e as Error).message}`);
    }
  }
  await waitFor(() => tcpAnswers(host, port), "Postgres");
}

/** Ensure the Redis server of `url` answers. */
export async function ensureRedis(url: string, dataDir: string, say: Say = () => {}): Promise<ServiceState> {
  const u = new URL(url);
  const host = hostOf(u);
  const port = Number(u.port || 6379);
  if (await tcpAnswers(host, port)) return "running";
  if (!isLocal(host)) throw new ServiceError(`Redis at ${host}:${port} does not answer (REDIS_URL)`);
  let have = spawnSync("redis-server", ["--version"]).status === 0;
  if (!have && isRoot()) {
    aptInstall(["redis-server"], say);
    have = spawnSync("redis-server", ["--version"]).status === 0;
  }
  if (!have) {
    throw new ServiceError(
      `Redis does not answer on ${host}:${port} and redis-server is not installed. Install it (apt-get install redis-server) or set REDIS_URL.`,
    );
  }
  const dir = resolve(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  say(`starting a private Redis on ${host}:${port} (in-memory only)`);
  // "-::1": listen on ::1 too where IPv6 exists, without failing where it does not.
  const bind = host === "::1" ? ["::1"] : ["127.0.0.1", "-::1"];
  try {
    await execFile("redis-server", [
      "--port",
      String(port),
      "--bind",
      ...bind,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "yes",
      "--dir",
      dir,
      "--pidfile",
      join(dir, "redis.pid"),
      "--logfile",
      join(dir, "redis.log"),
    ]);
  } catch (e) {
    if (!(await tcpAnswers(host, port))) throw new ServiceError(`could not start Redis: ${(e as Error).message}`);
  }
  await waitFor(() => tcpAnswers(host, port), "Redis");
  return "started";
}

/**
 * Ensure Prometheus' `promtool` and Alertmanager's `amtool` are on PATH (the monitoring rules'
 * checks and unit tests run them): installs Debian's `prometheus` and `prometheus-alertmanager`
 * with apt when one is missing and this runs as root; otherwise throws, saying what to install.
 * Returns the command names, for `execFile`.
 */
export function ensurePrometheusTools(say: Say = () => {}): { promtool: string; amtool: string } {
  const missing = () => ["promtool", "amtool"].filter((c) => spawnSync(c, ["--version"]).status !== 0);
  if (missing().length && isRoot()) aptInstall(["prometheus", "prometheus-alertmanager"], say);
  const still = missing();
  if (still.length) {
    throw new ServiceError(
      `${still.join(" and ")} not found. Install them (apt-get install prometheus prometheus-alertmanager) and run again.`,
    );
  }
  return { promtool: "promtool", amtool: "amtool" };
}

/**
 * Ensure PgBouncer is installed (the tests that go through a transaction-mode pooler, as Neon's
 * pooled endpoint is, start one): installs Debian's `pgbouncer` with apt when it is missing and
 * this runs as root; otherwise throws, saying what to install. Returns the binary's path.
 */
export function ensurePgbouncer(say: Say = () => {}): string {
  const bin = "/usr/sbin/pgbouncer";
  if (!existsSync(bin) && isRoot()) aptInstall(["pgbouncer"], say);
  if (!existsSync(bin))
    throw new ServiceError(`${bin} not found. Install it (apt-get install pgbouncer) and run again.`);
  return bin;
}

/** Stop the private Postgres, Redis and Alertmanager under `dataDir`, if they run. Returns what was stopped. */
export async function stopServices(dataDir: string, say: Say = () => {}): Promise<string[]> {
  const stopped: string[] = [];
  const pgData = resolve(dataDir, "postgres", "data");
  const bin = pgBinDir();
  if (bin && existsSync(join(pgData, "postmaster.pid"))) {
    say(`stopping the private Postgres in ${pgData}`);
    await asPgUser(join(bin, "pg_ctl"), ["-D", pgData, "-m", "fast", "-w", "stop"]);
    stopped.push("postgres");
  }
  const pidFile = resolve(dataDir, "redis", "redis.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    try {
      // A stale pid file may name an unrelated process by now: only signal a redis-server.
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("redis-server")) throw new Error("not redis");
      process.kill(pid, "SIGTERM");
      await waitFor(async () => !existsSync(`/proc/${pid}`), "Redis shutdown", 10_000).catch(() => {});
      say(`stopped the private Redis (pid ${pid})`);
      stopped.push("redis");
    } catch {
      // Not running any more; its pid file is stale.
    }
  }
  const am = await stopLocalAlertmanager(dataDir);
  if (am !== undefined) {
    say(`stopped the private Alertmanager (pid ${am})`);
    stopped.push("alertmanager");
  }
  return stopped;
}
