/**
 * The Alertmanager of `npm start`, so the cost simulator's breaker alerts (costsim_alert_queue,
 * sent by the AlertDelivery worker to every URL of ALERTMANAGER_URL) have somewhere to go.
 *
 * - ALERTMANAGER_URL set: it is used, nothing is started.
 * - Otherwise, with an Alertmanager binary on PATH (`alertmanager` upstream,
 *   `prometheus-alertmanager` Debian): a private instance under `<AOS_DATA_DIR>/alertmanager/`
 *   (its `alertmanager.yml`, written once and then left to the user, its `data/` storage, its
 *   `alertmanager.pid` and `alertmanager.log`) on 127.0.0.1:9093, clustering off. 9093 taken (a
 *   system Alertmanager, another data dir's `npm start`): the next free port up to 9112. One
 *   still running from an earlier start (the pid file's process is ours and `/-/ready` answers)
 *   is reused. Like the private Postgres and Redis it keeps running after Ctrl-C;
 *   `aos dev --stop-services` stops it.
 * - No binary: nothing is started; the alerts wait in costsim_alert_queue until ALERTMANAGER_URL
 *   is set. The start never fails for Alertmanager.
 *
 * Nothing here imports local/services.ts (services.ts imports this file for `--stop-services`).
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

export const ALERTMANAGER_PORT = 9093;
/** How many ports from ALERTMANAGER_PORT on are tried. */
const PORTS_TRIED = 20;
const READY_MS = 15_000;
export const ALERTMANAGER_INSTALL = "apt-get install prometheus-alertmanager";

type Say = (msg: string) => void;

/** The Alertmanager binary on PATH: `alertmanager` (upstream) or `prometheus-alertmanager` (Debian); undefined if neither. */
export function findAlertmanagerBinary(): string | undefined {
  for (const b of ["alertmanager", "prometheus-alertmanager"]) {
    if (spawnSync(b, ["--version"], { stdio: "ignore" }).status === 0) return b;
  }
  return undefined;
}

/** Where the private instance of `dataDir` keeps its files. */
export function alertmanagerPaths(dataDir: string) {
  const dir = resolve(dataDir, "alertmanager");
  return {
    dir,
    configFile: join(dir, "alertmanager.yml"),
    storage: join(dir, "data"),
    pidFile: join(dir, "alertmanager.pid"),
    logFile: join(dir, "alertmanager.log"),
  };
}

const CONFIG = `# The Alertmanager of \`npm start\` (local/alertmanager.ts). Written on the first start, then
# left alone: your edits are kept (delete this file to get it back).
#
# AOS sends the cost simulator's breaker alerts (CostSimV2Disabled) here. The receiver "local"
# sends them nowhere: see them with \`amtool alert query --alertmanager.url=<url>\` or
# GET <url>/api/v2/alerts. To be notified, add a real receiver under "local" below, e.g.
#     webhook_configs:
#       - url: http://127.0.0.1:8080/alerts
# (or email_configs, slack_configs...: https://prometheus.io/docs/alerting/latest/configuration/#receiver;
# monitoring/alertmanager.yml is the deployed routing), then \`curl -X POST <url>/-/reload\`.
route:
  receiver: local
  group_by: [alertname, incident_id]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: local
`;

export type LocalAlertmanager =
  | { state: "started" | "running"; url: string; pid: number }
  | { state: "missing" }
  | { state: "failed"; reason: string };

/** GET `url` (no keep-alive: nothing left open); true on 200 within `timeoutMs`. */
function answers200(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => done(false));
  });
}

/** Whether `pid` runs (a zombie, exited but not yet reaped, does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The command line of `pid` if it is an Alertmanager on `storage` (a stale pid file may name another process). */
function ourAlertmanager(pid: number, storage: string): string[] | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!argv[0]?.includes("alertmanager") || !argv.includes(`--storage.path=${storage}`)) return undefined;
    return argv;
  } catch {
    return undefined;
  }
}

function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function waitReady(url: string, ok: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && ok()) {
    if (await answers200(`${url}/-/ready`)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once("error", () => done(false));
    s.listen(port, "127.0.0.1", () => s.close(() => done(true)));
  });
}

/**
 * The private Alertmanager of `dataDir`: the one still running from an earlier start, or a new one
 * (see the file's header). Never throws: "missing" without a binary, "failed" (with why) when it
 * would not start.
 */
export async function ensureLocalAlertmanager(dataDir: string, say: Say = () => {}): Promise<LocalAlertmanager> {
  const p = alertmanagerPaths(dataDir);
  const old = readPid(p.pidFile);
  const argv = old !== undefined && alive(old) ? ourAlertmanager(old, p.storage) : undefined;
  if (old !== undefined && argv) {
    const listen = argv.find((a) => a.startsWith("--web.listen-address="))?.split("=")[1];
    const url = `http://${listen}`;
    if (listen && (await waitReady(url, () => alive(old), 5_000))) return { state: "running", url, pid: old };
    say(`the Alertmanager of an earlier start (pid ${old}) does not answer: starting another`);
    await stopPid(old);
  }
  const bin = findAlertmanagerBinary();
  if (!bin) return { state: "missing" };
  try {
    mkdirSync(p.storage, { recursive: true });
    if (!existsSync(p.configFile)) writeFileSync(p.configFile, CONFIG);
  } catch (e) {
    return { state: "failed", reason: (e as Error).message };
  }
  let tail = "";
  for (let port = ALERTMANAGER_PORT; port < ALERTMANAGER_PORT + PORTS_TRIED; port++) {
    if (!(await portFree(port))) continue;
    const url = `http://127.0.0.1:${port}`;
    const log = openSync(p.logFile, "a");
    const child = spawn(
      bin,
      [
        `--config.file=${p.configFile}`,
        `--storage.path=${p.storage}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
      ],
      // Its own session: Ctrl-C in the terminal does not reach it, and it outlives this process.
      { detached: true, stdio: ["ignore", log, log] },
    );
    closeSync(log);
    const pid = child.pid;
    let exited = pid === undefined;
    child.once("exit", () => {
      exited = true;
    });
    child.once("error", () => {
      exited = true;
    });
    child.unref();
    if (pid !== undefined && (await waitReady(url, () => !exited, READY_MS))) {
      writeFileSync(p.pidFile, `${pid}\n`);
      say(`started a private Alertmanager (${bin}, pid ${pid}) on 127.0.0.1:${port}, files in ${p.dir}/`);
      return { state: "started", url, pid };
    }
    if (pid !== undefined && !exited) await stopPid(pid);
    tail = readFileSync(p.logFile, "utf8").slice(-2000);
    // Someone took the port between our check and its bind: the next one.
    if (!/address already in use/i.test(tail)) break;
  }
  const last = tail.trim().split("\n").at(-1) ?? "";
  return {
    state: "failed",
    reason: tail
      ? `${last} (see ${p.logFile})`
      : `no free port in ${ALERTMANAGER_PORT}-${ALERTMANAGER_PORT + PORTS_TRIED - 1}`,
  };
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let t = Date.now(); alive(pid) && Date.now() - t < 10_000; ) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

/** Stop the private Alertmanager of `dataDir` if it runs; its pid, or undefined when none ran. */
export async function stopLocalAlertmanager(dataDir: string): Promise<number | undefined> {
  const p = alertmanagerPaths(dataDir);
  const pid = readPid(p.pidFile);
  if (pid === undefined) return undefined;
  const running = alive(pid) && ourAlertmanager(pid, p.storage) !== undefined;
  if (running) await stopPid(pid);
  rmSync(p.pidFile, { force: true });
  return running ? pid : undefined;
}
