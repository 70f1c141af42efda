/**
 * A real Alertmanager (Prometheus' `alertmanager`; Debian names the binary `prometheus-alertmanager`)
 * on loopback for a test: a free port, a temporary `--storage.path`, a minimal configuration (one
 * receiver: none by default, or a webhook), clustering off unless asked for. `stop()` and `start()`
 * again keep the same port and storage, for "Alertmanager was down for a while" tests.
 *
 * What a restart keeps (Alertmanager 0.25): silences (asserted) and the notification log (not
 * asserted here), both snapshotted to the storage path on SIGTERM and every
 * `--data.maintenance-interval`; NOT the alerts, which live in memory only (asserted). A sender must re-send what is still firing; Prometheus does
 * so every evaluation (with `endsAt` a few intervals ahead).
 *
 * What Alertmanager does with what it is sent (observed, 0.25; asserted by
 * test/integration/alertmanager-harness.test.ts):
 * - alerts are keyed by their label set (the `fingerprint`): a re-send with the same labels is the
 *   same alert; `startsAt` stays the earliest one sent, `updatedAt` is the time of the last
 *   receipt, annotations and generatorURL are the last ones sent (absent = dropped);
 * - an alert sent without `endsAt` gets `endsAt` = receipt + `resolve_timeout`;
 * - one sent with `endsAt` <= now is resolved: it leaves `GET /api/v2/alerts` (and the groups) at
 *   once, whatever `active=`/`silenced=`... say; the webhook receiver hears of it only with
 *   `send_resolved` (on by default for webhook_configs).
 *
 * The child is SIGKILLed when the test process exits, and a watchdog (`sh`) kills it should the
 * test process die without running its exit handlers (SIGKILL, OOM), so no Alertmanager outlives
 * its test. Its output (the last 64 KiB) is in `output()` and in the error when it fails to start.
 *
 * @example
 *   const am = await startAlertmanager();
 *   await am.post([{ labels: { alertname: "X" }, annotations: {}, startsAt: new Date().toISOString() }]);
 *   const a = await am.waitForAlert((a) => a.labels.alertname === "X", 5_000);
 *   await am.stop(); // connections refused from now on
 *   await am.start(); // the same URL again, with no alerts (silences kept)
 *   await am.dispose();
 *
 *   const [a1, a2] = await startAlertmanagerPair(); // an HA pair gossiping silences and nflog
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findAlertmanagerBinary } from "../../local/alertmanager.ts";
import { ensurePrometheusTools } from "../../local/services.ts";

/** One alert as `POST /api/v2/alerts` takes it (the body is an array of these). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** RFC 3339; absent: the time Alertmanager receives it. */
  startsAt?: string;
  /** RFC 3339; absent: receipt + resolve_timeout. At or before now: the alert is resolved. */
  endsAt?: string;
  generatorURL?: string;
}

/** One alert as `GET /api/v2/alerts` returns it. */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  generatorURL?: string;
  receivers: { name: string }[];
  status: { state: "active" | "suppressed" | "unprocessed"; silencedBy: string[]; inhibitedBy: string[] };
}

/** Query parameters of `GET /api/v2/alerts`. */
export interface AlertFilter {
  /** `labels: { alertname: "X" }` is `filter=alertname="X"`. */
  labels?: Record<string, string>;
  /** Raw matchers (`alertname=~"Aos.+"`), each a `filter=` parameter. */
  matchers?: string[];
  active?: boolean;
  silenced?: boolean;
  inhibited?: boolean;
  unprocessed?: boolean;
  /** A regex on the receiver's name. */
  receiver?: string;
}

export interface AlertmanagerOptions {
  /** A webhook receiver's URL (webhook_configs, send_resolved: true); default: a receiver that sends nothing. */
  webhookUrl?: string;
  /** The route's group_wait (default 100ms), group_interval (1s), repeat_interval (1h). */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** global.resolve_timeout (default 5m). */
  resolveTimeout?: string;
  /** The whole configuration instead (YAML); the options above are then ignored. */
  config?: string;
  /**
   * Clustering (HA): off by default (`--cluster.listen-address=`). `true`: listen on a free
   * loopback cluster port; with `peers` (other instances' `clusterAddress`), join them.
   */
  cluster?: boolean | { peers: string[] };
  /** How long `start()` waits for `GET /-/ready` (default 15 s). */
  readyTimeoutMs?: number;
}

export interface Alertmanager {
  /** `http://127.0.0.1:<port>`, the same across stop()/start(). */
  readonly url: string;
  readonly port: number;
  readonly storagePath: string;
  readonly configFile: string;
  /** `127.0.0.1:<port>` of its cluster listener, when clustered (a peer's `cluster.peers` entry). */
  readonly clusterAddress: string | undefined;
  /** Whether the child process runs. */
  running(): boolean;
  /** Its stdout and stderr so far (the last 64 KiB, across restarts). */
  output(): string;
  /** Start it again (same port, storage and configuration) and wait until it is ready. */
  start(): Promise<void>;
  /**
   * SIGTERM, and wait for it to exit (SIGKILL after 10 s). Idempotent. Clustered instances of this
   * process are stopped one after another (stopped together, each would wait 10 s to leave).
   */
  stop(): Promise<void>;
  /** Stop it and remove its storage and configuration. */
  dispose(): Promise<void>;
  /** `POST /api/v2/alerts`; throws unless 200 (and, when stopped, with the connection error). */
  post(alerts: PostableAlert[]): Promise<void>;
  /** `GET /api/v2/alerts` with `filter`, parsed. */
  alerts(filter?: AlertFilter): Promise<GettableAlert[]>;
  /** `POST /api/v2/silences` for equality matchers on `labels`, from now for `ms`; its id. */
  silence(labels: Record<string, string>, ms: number, comment?: string): Promise<string>;
  /** `GET /api/v2/silences`, parsed (expired ones included, as the API lists them). */
  silences(): Promise<{ id: string; status: { state: string }; matchers: unknown[]; endsAt: string }[]>;
  /** Polls `alerts(filter)` every 100 ms until one matches `predicate`; throws after `timeoutMs` with what it saw. */
  waitForAlert(
    predicate: (a: GettableAlert) => boolean,
    timeoutMs?: number,
    filter?: AlertFilter,
  ): Promise<GettableAlert>;
  /** Polls `alerts(filter)` every 100 ms until `predicate(list)` holds; throws after `timeoutMs`. */
  waitForAlerts(
    predicate: (alerts: GettableAlert[]) => boolean,
    timeoutMs?: number,
    filter?: AlertFilter,
  ): Promise<GettableAlert[]>;
}

const OUTPUT_CAP = 64 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Children of this process still running, killed on exit; scratch directories removed then. */
const live = new Set<ChildProcess>();
const scratch = new Set<string>();
let exitHookInstalled = false;
function onExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) {
      try {
        c.kill("SIGKILL");
      } catch {}
    }
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });
}

/** A temporary directory removed when this process exits, if `dispose` has not removed it before. */
export function scratchDir(prefix: string): { path: string; remove(): void } {
  onExit();
  const path = mkdtempSync(join(tmpdir(), prefix));
  scratch.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      scratch.delete(path);
    },
  };
}

/**
 * Spawn `cmd` for a test: output kept (the last 64 KiB, appended to `log`), SIGKILLed when this
 * process exits, and watched by a detached `sh` that SIGTERMs it once this process is gone (should
 * it die without exit handlers: SIGKILL, OOM), then removes `cleanupDir`. The watchdog ends by
 * itself when the child does.
 */
export function spawnWatched(cmd: string, args: string[], log: { text: string }, cleanupDir?: string): ChildProcess {
  onExit();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const keep = (d: Buffer) => {
    log.text += d.toString();
    if (log.text.length > OUTPUT_CAP) log.text = log.text.slice(-OUTPUT_CAP);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (e) => keep(Buffer.from(`\nspawn ${cmd}: ${e.message}\n`)));
  if (child.pid !== undefined) {
    live.add(child);
    child.once("exit", () => live.delete(child));
    const watchdog = spawn(
      "sh",
      [
        "-c",
        // While both live, wait. The child gone first: nothing to do. This process gone first:
        // TERM the child, give it 2 s, then remove the scratch directory.
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
          'kill -0 "$1" 2>/dev/null && exit 0; kill -TERM "$2" 2>/dev/null; sleep 2; kill -KILL "$2" 2>/dev/null; ' +
          '[ -n "$3" ] && rm -rf "$3"; exit 0',
        "watchdog",
        String(process.pid),
        String(child.pid),
        cleanupDir ?? "",
      ],
      { detached: true, stdio: "ignore" },
    );
    watchdog.unref();
  }
  return child;
}

/** A free loopback TCP port (bound, read, closed: another process may take it before we do). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Stop `child` with `signal`, SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}

/** Stops of clustered instances, one after another (see `stop()`). */
let clusterStops: Promise<void> = Promise.resolve();

let binary: string | undefined;
/** The Alertmanager binary: `alertmanager` (upstream) or `prometheus-alertmanager` (Debian). */
export function alertmanagerBinary(): string {
  if (binary) return binary;
  ensurePrometheusTools(); // installs Debian's prometheus-alertmanager as root when amtool is missing
  binary = findAlertmanagerBinary();
  if (binary) return binary;
  throw new Error(
    "neither `alertmanager` nor `prometheus-alertmanager` is on PATH (apt-get install prometheus-alertmanager)",
  );
}

function configYaml(o: AlertmanagerOptions): string {
  if (o.config) return o.config;
  const receiver = o.webhookUrl
    ? `  - name: test\n    webhook_configs:\n      - url: ${JSON.stringify(o.webhookUrl)}\n        send_resolved: true\n`
    : "  - name: test\n";
  return [
    "global:",
    `  resolve_timeout: ${o.resolveTimeout ?? "5m"}`,
    "route:",
    "  receiver: test",
    `  group_wait: ${o.groupWait ?? "100ms"}`,
    `  group_interval: ${o.groupInterval ?? "1s"}`,
    `  repeat_interval: ${o.repeatInterval ?? "1h"}`,
    "receivers:",
    receiver,
  ].join("\n");
}

function query(f: AlertFilter = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f.labels ?? {})) p.append("filter", `${k}=${JSON.stringify(v)}`);
  for (const m of f.matchers ?? []) p.append("filter", m);
  for (const k of ["active", "silenced", "inhibited", "unprocessed"] as const) {
    if (f[k] !== undefined) p.set(k, String(f[k]));
  }
  if (f.receiver !== undefined) p.set("receiver", f.receiver);
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Start an Alertmanager (see the file's header) and wait until `GET /-/ready` answers 200. */
export async function startAlertmanager(o: AlertmanagerOptions = {}): Promise<Alertmanager> {
  const bin = alertmanagerBinary();
  const scratch = scratchDir("aos-alertmanager-");
  const dir = scratch.path;
  const storagePath = join(dir, "data");
  const configFile = join(dir, "alertmanager.yml");
  writeFileSync(configFile, configYaml(o));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const clusterAddress = o.cluster ? `127.0.0.1:${await freePort()}` : undefined;
  const args = [
    `--config.file=${configFile}`,
    `--storage.path=${storagePath}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=info",
  ];
  if (clusterAddress) {
    args.push(`--cluster.listen-address=${clusterAddress}`, `--cluster.advertise-address=${clusterAddress}`);
    const peers = typeof o.cluster === "object" ? o.cluster.peers : [];
    for (const p of peers) args.push(`--cluster.peer=${p}`);
    // Loopback peers settle fast; the defaults are for real networks.
    args.push("--cluster.gossip-interval=50ms", "--cluster.pushpull-interval=1s", "--cluster.peer-timeout=1s");
  } else {
    args.push("--cluster.listen-address=");
  }
  const log = { text: "" };
  let child: ChildProcess | undefined;
  const readyMs = o.readyTimeoutMs ?? 15_000;

  const running = () => !!child && child.exitCode === null && child.signalCode === null;

  async function start(): Promise<void> {
    if (running()) throw new Error(`Alertmanager on ${url} already runs`);
    const from = log.text.length;
    child = spawnWatched(bin, args, log, dir);
    const c = child;
    const until = Date.now() + readyMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) {
        throw new Error(
          `Alertmanager (${bin} ${args.join(" ")}) exited (${c.exitCode ?? c.signalCode}) before it was ready:\n${log.text.slice(from)}`,
        );
      }
      const r = await fetch(`${url}/-/ready`).catch(() => undefined);
      if (r?.status === 200) return;
      if (Date.now() > until) {
        await stopChild(c, "SIGKILL");
        throw new Error(`Alertmanager on ${url} not ready after ${readyMs} ms:\n${log.text.slice(from)}`);
      }
      await sleep(50);
    }
  }

  async function stop(): Promise<void> {
    const c = child;
    if (!c) return;
    if (!clusterAddress) return stopChild(c);
    // Clustered members stopped at the same moment each wait 10 s for their leave broadcast to
    // be taken ("timeout waiting for leave broadcast"); one after the other, each exits at once.
    const mine = clusterStops.then(() => stopChild(c));
    clusterStops = mine.catch(() => {});
    return mine;
  }

  async function alerts(f?: AlertFilter): Promise<GettableAlert[]> {
    const r = await fetch(`${url}/api/v2/alerts${query(f)}`);
    const body = await r.text();
    if (r.status !== 200) throw new Error(`GET ${url}/api/v2/alerts${query(f)}: ${r.status} ${body}`);
    return JSON.parse(body) as GettableAlert[];
  }

  async function waitForAlerts(
    predicate: (alerts: GettableAlert[]) => boolean,
    timeoutMs = 10_000,
    f?: AlertFilter,
  ): Promise<GettableAlert[]> {
    const until = Date.now() + timeoutMs;
    let seen: GettableAlert[] | string = [];
    for (;;) {
      try {
        seen = await alerts(f);
        if (predicate(seen)) return seen;
      } catch (e) {
        seen = (e as Error).message;
      }
      if (Date.now() > until) {
        throw new Error(
          `Alertmanager on ${url}: no match within ${timeoutMs} ms; last seen: ${typeof seen === "string" ? seen : JSON.stringify(seen, null, 1)}`,
        );
      }
      await sleep(100);
    }
  }

  const am: Alertmanager = {
    url,
    port,
    storagePath,
    configFile,
    clusterAddress,
    running,
    output: () => log.text,
    start,
    stop,
    async dispose() {
      await stop();
      scratch.remove();
    },
    async post(list) {
      const r = await fetch(`${url}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(list),
      });
      if (r.status !== 200) throw new Error(`POST ${url}/api/v2/alerts: ${r.status} ${await r.text()}`);
    },
    alerts,
    async silence(labels, ms, comment = "test") {
      const now = Date.now();
      const r = await fetch(`${url}/api/v2/silences`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          matchers: Object.entries(labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
          startsAt: new Date(now).toISOString(),
          endsAt: new Date(now + ms).toISOString(),
          createdBy: "aos-test",
          comment,
        }),
      });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`POST ${url}/api/v2/silences: ${r.status} ${body}`);
      return (JSON.parse(body) as { silenceID: string }).silenceID;
    },
    async silences() {
      const r = await fetch(`${url}/api/v2/silences`);
      const body = await r.text();
      if (r.status !== 200) throw new Error(`GET ${url}/api/v2/silences: ${r.status} ${body}`);
      return JSON.parse(body);
    },
    waitForAlerts,
    async waitForAlert(predicate, timeoutMs = 10_000, f) {
      const list = await waitForAlerts((l) => l.some(predicate), timeoutMs, f);
      return list.find(predicate) as GettableAlert;
    },
  };
  try {
    await start();
  } catch (e) {
    scratch.remove();
    throw e;
  }
  return am;
}

/**
 * Two Alertmanagers clustered as an HA pair (the second joins the first): they gossip silences and
 * the notification log, NOT alerts, so a sender must post every alert to both (as Prometheus does
 * with its list of Alertmanagers). For two independent ones, call `startAlertmanager()` twice.
 * A clustered instance answers /-/ready at once, before its gossip has settled (about 1.5 s here;
 * see `output()`), and the member in position n of the cluster waits n x `--cluster.peer-timeout`
 * (1 s here) before notifying, so a receiver may hear of an alert later than from a lone instance
 * (not measured here).
 */
export async function startAlertmanagerPair(
  o: Omit<AlertmanagerOptions, "cluster"> = {},
): Promise<[Alertmanager, Alertmanager]> {
  const first = await startAlertmanager({ ...o, cluster: true });
  try {
    const second = await startAlertmanager({ ...o, cluster: { peers: [first.clusterAddress as string] } });
    return [first, second];
  } catch (e) {
    await first.dispose();
    throw e;
  }
}
