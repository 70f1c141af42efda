/**
 * Child processes of `npm run bench:export`: s3rver (so its memory is not the exporter's), psql
 * (the baseline) and the exporter itself (bench/export-child.ts), each started with `spawn` and
 * stopped by its own pid.
 *
 * The exporter runs as Lambda runs it: bundled with SST's esbuild options (bench/cold-start.ts)
 * and started with plain node. Under tsx its RSS would also hold tsx's loader and the compiled
 * sources (about 40 MB more on this machine), which a deployed function does not carry.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { sstOptions } from "./cold-start.ts";

const root = resolve(import.meta.dirname, "..");
const childScript = resolve(root, "bench/export-child.ts");

/** How to start the exporter: `node <bundle>` or `node --import tsx <source>`. */
export type Exporter = { args: string[] };

export async function exporter(o: { tsx: boolean; dir: string }): Promise<Exporter> {
  if (o.tsx) return { args: ["--import", "tsx", childScript] };
  const outdir = join(o.dir, "exporter");
  await build({ ...sstOptions, metafile: false, entryPoints: [childScript], outdir, entryNames: "index" });
  return { args: [join(outdir, "index.js")] };
}

/** Children still running, so Ctrl-C can stop them (by pid, nothing else). */
export const running = new Set<ChildProcess>();

export function stopChildren(): void {
  for (const c of running) if (c.exitCode === null && c.pid) process.kill(c.pid, "SIGTERM");
}

/** The environment of a child: PATH and HOME, plus exactly the configuration it needs. */
export function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...vars,
  };
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", (e) => {
      running.delete(child);
      fail(e);
    });
    child.on("close", (code) => {
      running.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

/** Run the exporter with `mode ...args`; its last stdout line is JSON. */
export async function runChild<T>(x: Exporter, mode: string, args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const r = await run(process.execPath, [...x.args, mode, ...args], env);
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0) throw new Error(`export-child ${mode} exited ${r.code}: ${r.stderr.trim() || last}`);
  return JSON.parse(last) as T;
}

/**
 * psql's `\copy (select ...) to /dev/null csv`, timed around the whole child process (connect,
 * query, transfer, exit) as a user at a terminal would see it. Returns seconds. `raw`: `select`
 * is the whole argument of \copy (`(select ...) to /dev/null with (...)`).
 */
export async function psqlCopy(url: string, select: string, raw = false): Promise<number> {
  const copy = raw ? `\\copy ${select}` : `\\copy (${select}) to /dev/null csv`;
  const t = performance.now();
  const r = await run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", copy], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
  });
  const s = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`psql exited ${r.code}: ${r.stderr.trim()}`);
  return s;
}

/** utime + stime of a process in clock ticks (Linux /proc), or undefined when it is gone. */
function ticksOf(pid: string): { comm: string; ticks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    // Fields 14 and 15 (utime, stime), counted from the state after the command name.
    const f = stat.slice(close + 2).split(" ");
    return { comm: stat.slice(stat.indexOf("(") + 1, close), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) of the processes `match` picks, while some work runs: /proc is
 * sampled every 100 ms, so a process that starts and exits meanwhile (a Postgres backend of a
 * connection that closes) counts up to its last sample. Linux only; NaN elsewhere. `match`
 * answers undefined for a process it cannot tell yet (asked again at the next sample).
 */
export function cpuSampler(match: (pid: number, comm: string) => boolean | undefined): { stop(): number } {
  const base = new Map<string, number>();
  const last = new Map<string, number>();
  const skip = new Set<string>();
  let started = false;
  let ok = true;
  const read = () => {
    let pids: string[];
    try {
      pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d) && !skip.has(d));
    } catch {
      ok = false;
      return;
    }
    for (const pid of pids) {
      const p = ticksOf(pid);
      if (!p) continue;
      const picked = match(Number(pid), p.comm);
      if (picked === undefined) continue;
      if (!picked) {
        skip.add(pid);
        continue;
      }
      if (!base.has(pid)) base.set(pid, started ? 0 : p.ticks);
      last.set(pid, p.ticks);
    }
  };
  read();
  started = true;
  const timer = setInterval(read, 100);
  return {
    stop() {
      clearInterval(timer);
      read();
      let ticks = 0;
      for (const [pid, t] of last) ticks += t - (base.get(pid) ?? 0);
      return ok ? ticks / 100 : Number.NaN; // USER_HZ
    },
  };
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};

/**
 * The Postgres processes working for database `db`: its backends (`postgres: <user> <db> <host>
 * ...` in their command line) and their parallel workers (`postgres: parallel worker for PID
 * <backend>`), so the work of other databases on the same server (tests running beside the
 * bench) does not count. Without `db`, every Postgres process of the machine.
 */
export function postgresCpu(db?: string) {
  const backends = new Set<number>();
  return cpuSampler((pid, comm) => {
    if (comm !== "postgres") return false;
    if (db === undefined) return true;
    const line = cmdline(pid);
    // A backend just forked still shows the postmaster's command line: not known yet.
    if (!line.startsWith("postgres: ")) return undefined;
    if (line.split(" ").includes(db)) {
      backends.add(pid);
      return true;
    }
    // A worker seen before its leader is asked about again at the next sample.
    const leader = /parallel worker for PID (\d+)/.exec(line)?.[1];
    if (leader === undefined) return false;
    return backends.has(Number(leader)) ? true : undefined;
  });
}

export interface S3Child {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Where the exports go: `null` (bench/export-null-s3.ts: S3's API, bodies read and discarded,
 * the counterpart of psql's /dev/null) or `s3rver` (a real emulator that stores the objects).
 */
export type Sink = "null" | "s3rver";

/** The sink in a child process on 127.0.0.1 with `bucket`; s3rver stores to `dir`. */
export function startS3Child(sink: Sink, dir: string, bucket: string): Promise<S3Child> {
  const script =
    sink === "null"
      ? [resolve(root, "bench/export-null-s3.ts"), bucket]
      : [resolve(root, "bench/export-s3.ts"), dir, bucket];
  return new Promise((ready, fail) => {
    const env = childEnv({ LOG_LEVEL: "silent" });
    const child = spawn(process.execPath, ["--import", "tsx", ...script], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    running.add(child);
    const exited = new Promise<void>((r) =>
      child.on("close", () => {
        running.delete(child);
        r();
      }),
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (!out.includes("\n") || !line) return;
      const { endpoint } = JSON.parse(line) as { endpoint: string };
      ready({
        endpoint,
        pid: child.pid ?? 0,
        stop: async () => {
          if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGTERM");
          await exited;
        },
      });
    });
    child.on("error", fail);
    void exited.then(() => fail(new Error(`the ${sink} S3 child exited before it was ready`)));
  });
}
