/**
 * Make sure Postgres and Redis answer before AOS (or the test suite) starts.
 *
 * Order of attempts for each: it already answers -> start a private instance under `.aos/` with
 * the binaries this machine has -> install them with apt when running as root -> give up with a
 * message that says what to do. Private instances keep running after the process exits (like a
 * database you started yourself) and are reused next time; `aos dev --stop-services` stops them.
 */
import { execFile as execFileCb, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const execFile = promisify(execFileCb);

export class ServiceError extends Error {
  override name = "ServiceError";
}

type Say = (msg: string) => void;

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

const isLocal = (host: string) => ["127.0.0.1", "localhost", "::1", ""].includes(host);
const isRoot = () => process.getuid?.() === 0;

function aptInstall(pkgs: string[], say: Say): void {
  say(`installing ${pkgs.join(", ")} with apt-get (running as root)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...pkgs]]) {
    const r = spawnSync("apt-get", args, { stdio: "ignore", env });
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

/** Ensure the Postgres server of `url` answers and the database of `url` exists. */
export async function ensurePostgres(url: string, dataDir: string, say: Say = () => {}): Promise<void> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 5432);
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
    await startPrivatePostgres(bin, resolve(dataDir, "postgres"), port, say);
  }
  const dbName = decodeURIComponent(u.pathname.slice(1)) || "postgres";
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [dbName]);
    if (!rowCount) {
      say(`creating database ${dbName}`);
      await client.query(`create database "${dbName.replace(/"/g, '""')}"`);
    }
  } finally {
    await client.end();
  }
}

async function startPrivatePostgres(bin: string, dir: string, port: number, say: Say): Promise<void> {
  // initdb and postgres refuse to run as root: run them as the `postgres` system user.
  const asUser = (cmd: string, args: string[]) =>
    isRoot() ? execFile("runuser", ["-u", "postgres", "--", cmd, ...args]) : execFile(cmd, args);
  const data = join(dir, "data");
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  if (!existsSync(join(data, "PG_VERSION"))) {
    say(`initialising a private Postgres in ${data}`);
    await asUser(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  }
  say(`starting a private Postgres on 127.0.0.1:${port}`);
  await asUser(join(bin, "pg_ctl"), [
    "-D",
    data,
    "-l",
    join(dir, "postgres.log"),
    "-w",
    "start",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
  ]);
  await waitFor(() => tcpAnswers("127.0.0.1", port), "Postgres");
}

/** Ensure the Redis server of `url` answers. */
export async function ensureRedis(url: string, dataDir: string, say: Say = () => {}): Promise<void> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 6379);
  if (await tcpAnswers(host, port)) return;
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
  writeFileSync(join(dir, ".keep"), "");
  say(`starting a private Redis on 127.0.0.1:${port}`);
  await execFile("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
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
  await waitFor(() => tcpAnswers("127.0.0.1", port), "Redis");
}
