/**
 * A real PgBouncer (Debian's `pgbouncer`) on loopback in front of the test Postgres, in
 * transaction pooling mode, as Neon's pooled endpoint runs it: a client's transaction (or lone
 * statement) goes to whichever server connection is free, so session state (SET, session advisory
 * locks, named prepared statements) belongs to whoever gets that connection next.
 *
 * `poolSize` server connections per database and user (default 2). Server connections are reused
 * last-used first, so statements one after another from two clients share one server session:
 * how a test shows what a session lock is worth there.
 * Authentication is `trust` for the users named (Postgres trusts loopback here). Installed with
 * apt when missing and running as root (`ensurePgbouncer`), as promtool is. PgBouncer refuses
 * to run as root: as root it runs as the `postgres` user (setpriv, which execs it, so the child
 * is PgBouncer itself). Spawned and watched as the Alertmanager harness does (`spawnWatched`): no
 * PgBouncer outlives its test.
 *
 * @example
 *   const pgb = await startPgbouncer({ users: ["app"], poolSize: 1 });
 *   const url = pgb.urlFor(config().databaseUrl); // the same user and database, through PgBouncer
 *   await pgb.stop();
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { ensurePgbouncer } from "../../local/services.ts";
import { freePort, scratchDir, spawnWatched, stopChild } from "./alertmanager.ts";

export interface PgBouncer {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** `url` with its host and port replaced by PgBouncer's (user, password, database kept). */
  urlFor(url: string): string;
  /** Its log so far. */
  output(): string;
  /** SIGINT (PgBouncer's immediate shutdown), wait for it, remove its files. */
  stop(): Promise<void>;
}

export async function startPgbouncer(o: {
  users: string[];
  poolSize?: number;
  /** Postgres behind it (default 127.0.0.1:5432). */
  serverHost?: string;
  serverPort?: number;
}): Promise<PgBouncer> {
  const binary = ensurePgbouncer(); // installs Debian's pgbouncer as root when it is missing
  const dir = scratchDir("aos-pgbouncer-");
  chmodSync(dir.path, 0o755);
  const port = await freePort();
  const users = join(dir.path, "userlist.txt");
  writeFileSync(users, o.users.map((u) => `"${u}" ""\n`).join(""), { mode: 0o644 });
  const ini = join(dir.path, "pgbouncer.ini");
  writeFileSync(
    ini,
    [
      "[databases]",
      `* = host=${o.serverHost ?? "127.0.0.1"} port=${o.serverPort ?? 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${users}`,
      "pool_mode = transaction",
      `default_pool_size = ${o.poolSize ?? 2}`,
      // The last used server connection first (LIFO, the default, named): statements one after
      // another from different clients land on the same server session.
      "server_round_robin = 0",
      "max_client_conn = 500",
      // What node-postgres may send at startup and PgBouncer would refuse otherwise.
      "ignore_startup_parameters = extra_float_digits,statement_timeout",
      "server_reset_query =",
      "logfile =",
      "pidfile =",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  const log = { text: "" };
  const asRoot = process.getuid?.() === 0;
  let child: ChildProcess;
  if (asRoot) {
    const uid = execFileSync("id", ["-u", "postgres"]).toString().trim();
    const gid = execFileSync("id", ["-g", "postgres"]).toString().trim();
    child = spawnWatched("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", binary, ini], log, dir.path);
  } else {
    child = spawnWatched(binary, [ini], log, dir.path);
  }
  // Ready when it accepts connections (it exits at once on a bad configuration).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}):\n${log.text}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} within 10 s:\n${log.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address: `127.0.0.1:${port}`,
    urlFor(url: string) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    output: () => log.text,
    async stop() {
      await stopChild(child, "SIGINT", 5_000);
      dir.remove();
    },
  };
}
