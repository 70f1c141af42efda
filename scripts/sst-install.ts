/**
 * `npm run sst:install`: writes `.sst/platform/` (SST's component sources, `config.d.ts` and
 * their node_modules) the way `sst install` does, offline-safe and idempotent.
 *
 * Skips when `.sst/platform/` already matches the installed `sst` package. Otherwise runs the
 * SST CLI with the dependency check and telemetry off and with the Bun binary of the npm package
 * `bun` (the CLI would download both otherwise). Used by `typecheck:stacks` and the stack test.
 *
 * @example
 *   import { ensureSstInstalled } from "../../scripts/sst-install.ts";
 *   const { installed, ms } = await ensureSstInstalled();
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
/** A live holder older than this is taken to be hung (an install takes seconds). */
const LOCK_STALE_MS = 5 * 60_000;
const INSTALL_TIMEOUT_MS = 180_000;

export interface InstallResult {
  /** false when `.sst/platform/` was already up to date. */
  installed: boolean;
  ms: number;
  version: string;
}

function readVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, "node_modules/sst/package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/** True when `.sst/platform/` was written by this very version of sst and is complete. */
export function isSstInstalled(root = ROOT): boolean {
  const platform = join(root, ".sst/platform");
  if (!existsSync(join(platform, "config.d.ts"))) return false;
  if (!existsSync(join(platform, "node_modules/@pulumi/pulumi/package.json"))) return false;
  if (!existsSync(join(platform, "node_modules/@pulumi/aws/package.json"))) return false;
  const versionFile = join(platform, "version");
  return existsSync(versionFile) && readFileSync(versionFile, "utf8").trim() === readVersion(root);
}

/** Whether the process that took a lock is gone (killed mid-install), so the lock is stale. */
function lockIsStale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    process.kill(pid, 0);
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch (err) {
    // No pid file yet (just being written) is not stale; a dead pid is.
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** A directory lock, so `typecheck:stacks` and the stack test never install over each other. */
async function withLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, ".sst"), { recursive: true });
  const lock = join(root, ".sst/install.lock");
  const deadline = Date.now() + INSTALL_TIMEOUT_MS + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function runSstInstall(root: string): Promise<void> {
  const bun = join(root, "node_modules/bun/bin/bun.exe");
  if (!existsSync(bun)) throw new Error(`${bun} is missing: run npm ci (devDependency bun)`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SST_SKIP_DEPENDENCY_CHECK: "1",
    SST_TELEMETRY_DISABLED: "1",
    SST_BUN_PATH: bun,
  };
  // `sst install` insists on a stage even though it creates nothing in any stage.
  if (!env.SST_STAGE && !existsSync(join(root, ".sst/stage"))) env.SST_STAGE = "dev";
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(root, "node_modules/sst/bin/sst.mjs"), "install"], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), INSTALL_TIMEOUT_MS);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) ok();
      else fail(new Error(`sst install failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

/** Runs `sst install` unless `.sst/platform/` is already current. */
export async function ensureSstInstalled(root = ROOT): Promise<InstallResult> {
  const started = Date.now();
  const version = readVersion(root);
  if (isSstInstalled(root)) return { installed: false, ms: Date.now() - started, version };
  return withLock(root, async () => {
    // Another process may have installed while this one waited for the lock.
    if (isSstInstalled(root)) return { installed: false, ms: Date.now() - started, version };
    await runSstInstall(root);
    if (!isSstInstalled(root)) throw new Error("sst install finished but .sst/platform/ is incomplete");
    return { installed: true, ms: Date.now() - started, version };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await ensureSstInstalled();
  console.log(
    r.installed
      ? `sst ${r.version}: installed .sst/platform in ${r.ms} ms`
      : `sst ${r.version}: .sst/platform is up to date`,
  );
}
