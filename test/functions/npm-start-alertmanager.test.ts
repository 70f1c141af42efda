/**
 * `npm start` and Alertmanager (local/alertmanager.ts): with ALERTMANAGER_URL set it starts none;
 * with no Alertmanager on PATH it says the alerts wait and starts anyway; otherwise it starts a
 * private one under the data dir, prints its URL (which AOS's ALERTMANAGER_URL is set to: the line
 * is printed from that value), leaves it running on exit, reuses it on the next start, and
 * `aos dev --stop-services` stops it. One data dir throughout, in this order.
 */
import { execFile as execFileCb } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { alertmanagerPaths } from "../../local/alertmanager.ts";
import { AosDev, type Started } from "../setup/aos-dev.ts";

const execFile = promisify(execFileCb);
const dev = new AosDev("startam");
const am = alertmanagerPaths(dev.dataDir);
/** ALERTMANAGER_URL unset whatever this process's environment says. */
const noUrl = { ALERTMANAGER_URL: undefined };

afterAll(() => dev.cleanup());

async function stopClean(s: Started): Promise<void> {
  expect(await dev.stop(s), s.output()).toEqual({ code: 0, signal: null });
  expect(s.output()).not.toContain("still open after stopping");
}

const status = (url: string) =>
  fetch(`${url}/api/v2/status`).then(
    (r) => r.status,
    () => "refused",
  );

describe("npm start and Alertmanager", () => {
  it("with ALERTMANAGER_URL set, uses it and starts none", { timeout: 90_000 }, async () => {
    const s = await dev.start({ ALERTMANAGER_URL: "http://127.0.0.1:1" });
    expect(s.output()).toContain("alerts    http://127.0.0.1:1 (ALERTMANAGER_URL)");
    expect(s.output()).not.toContain("private Alertmanager");
    expect(existsSync(am.dir)).toBe(false);
    await stopClean(s);
    expect(s.output()).not.toContain("keeps running");
  });

  it("with no Alertmanager on PATH, starts anyway and says where the alerts wait", { timeout: 60_000 }, async () => {
    // A PATH with nothing on it but node (`aos dev` is spawned by its full path anyway).
    const bin = mkdtempSync(join(tmpdir(), "aos-nopath-"));
    symlinkSync(process.execPath, join(bin, "node"));
    try {
      const s = await dev.start({ ...noUrl, PATH: bin });
      expect(s.output()).toMatch(
        /alerts {4}no Alertmanager on PATH \(apt-get install prometheus-alertmanager\); costsim alerts wait in costsim_alert_queue until ALERTMANAGER_URL is set/,
      );
      expect(existsSync(am.dir)).toBe(false);
      await stopClean(s);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("without ALERTMANAGER_URL, starts a private Alertmanager, keeps it running, reuses it; --stop-services stops it", {
    timeout: 90_000,
  }, async () => {
    const t0 = Date.now();
    const s = await dev.start(noUrl);
    const line = new RegExp(
      `alerts {4}(http://127\\.0\\.0\\.1:\\d+) \\(private Alertmanager under ${dev.dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/alertmanager/; costsim alerts go there; ALERTMANAGER_URL overrides\\)`,
    ).exec(s.output());
    expect(line, s.output()).not.toBeNull();
    const url = line?.[1] as string;
    console.log(`aos dev with a private Alertmanager at ${url}: ready ${Date.now() - t0} ms after spawn`);
    expect(await status(url)).toBe(200);
    // Its files under the data dir; clustering off; the generated config's one receiver.
    const pid = Number(readFileSync(am.pidFile, "utf8"));
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(argv).toContain(`--storage.path=${am.storage}`);
    expect(argv).toContain("--cluster.listen-address=");
    expect(readFileSync(am.configFile, "utf8")).toMatch(/add a real receiver/);
    const cluster = (await (await fetch(`${url}/api/v2/status`)).json()) as { cluster: { status: string } };
    expect(cluster.cluster.status).toBe("disabled");
    // It takes alerts.
    const alertname = `NpmStartTest${process.pid}`;
    const posted = await fetch(`${url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ labels: { alertname, subsystem: "costsim" }, annotations: { summary: "test" } }]),
    });
    expect(posted.status).toBe(200);
    const listed = (await (await fetch(`${url}/api/v2/alerts?filter=alertname%3D%22${alertname}%22`)).json()) as {
      labels: Record<string, string>;
    }[];
    expect(listed.map((a) => a.labels.alertname)).toEqual([alertname]);

    // Ctrl-C leaves it running, as the private Postgres and Redis; the next start reuses it.
    await stopClean(s);
    expect(s.output()).toContain(`the private Alertmanager under ${dev.dataDir}/ keeps running`);
    expect(await status(url)).toBe(200);
    const again = await dev.start(noUrl);
    expect(again.output()).toContain(
      `alerts    ${url} (private Alertmanager, already running under ${dev.dataDir}/alertmanager/;`,
    );
    expect(Number(readFileSync(am.pidFile, "utf8"))).toBe(pid);
    await stopClean(again);
    // Not started by this start: nothing said about it on exit.
    expect(again.output()).not.toContain("keeps running");

    const stop = await execFile(process.execPath, ["bin/aos.js", "dev", "--stop-services"], {
      env: dev.serverEnv(),
    });
    expect(stop.stdout).toContain(`stopped the private Alertmanager (pid ${pid})`);
    expect(await status(url)).toBe("refused");
    expect(existsSync(am.pidFile)).toBe(false);
  });
});
