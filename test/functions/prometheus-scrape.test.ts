/**
 * A real Prometheus scraping `npm start`'s `GET /metrics` with the admin key it prints, and
 * evaluating every rule file of monitoring/rules/ against what it scrapes: the target is up, every
 * group and rule loaded (as many as the files declare) has been evaluated without an error, and
 * AOS's own series (aos_http_requests_total) arrive. Fails, never skips, when prometheus is missing
 * (ensurePrometheusTools installs Debian's `prometheus` as root).
 *
 * The dev server is this file's own AosDev ("scrape"); `dev.start({ NAME: "value" })` starts it
 * with more environment (e.g. `ALERTMANAGER_URL`), as AosDev.serverEnv merges it over the rest.
 */
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ensurePrometheusTools } from "../../local/services.ts";
import { freePort, scratchDir, spawnWatched, stopChild } from "../setup/alertmanager.ts";
import { AosDev, type Started } from "../setup/aos-dev.ts";

const rulesDir = resolve("monitoring/rules");
const ruleFiles = readdirSync(rulesDir)
  .filter((f) => f.endsWith(".yml"))
  .sort()
  .map((f) => join(rulesDir, f));

/** What monitoring/rules/*.yml declare: group name -> its rules' names (record or alert). */
function declared(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const f of ruleFiles) {
    const doc = parse(readFileSync(f, "utf8")) as {
      groups: { name: string; rules: { record?: string; alert?: string }[] }[];
    };
    for (const g of doc.groups) {
      expect(groups.has(g.name), `group ${g.name} declared twice`).toBe(false);
      groups.set(
        g.name,
        g.rules.map((r) => r.record ?? r.alert ?? "?"),
      );
    }
  }
  return groups;
}

interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
  type: string;
}
interface GroupState {
  name: string;
  file: string;
  lastEvaluation: string;
  rules: RuleState[];
}

const NEVER = "0001-01-01T00:00:00Z";
const evaluated = (t: string | undefined) => !!t && t !== NEVER && !t.startsWith("0001-");

const dev = new AosDev("scrape");
/** When the aos target had been scraped twice (set by the first test); rules must be evaluated after it. */
let scrapedWithData = 0;
let s: Started;
let prom: { url: string; child: ChildProcess; output: () => string; dispose: () => Promise<void> } | undefined;

async function startPrometheus(target: string, key: string) {
  ensurePrometheusTools(); // promtool comes with the same package as prometheus
  const dir = scratchDir("aos-prometheus-");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir.path, "prometheus.yml");
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ruleFiles,
      scrape_configs: [
        {
          job_name: "aos",
          metrics_path: "/metrics",
          scheme: "http",
          authorization: { type: "Bearer", credentials: key },
          static_configs: [{ targets: [target] }],
        },
      ],
    }),
  );
  const log = { text: "" };
  const child = spawnWatched(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir.path, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    log,
    dir.path,
  );
  const p = {
    url,
    child,
    output: () => log.text,
    async dispose() {
      await stopChild(child);
      dir.remove();
    },
  };
  prom = p;
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log.text}`);
    }
    const r = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (r?.status === 200) return p;
    if (Date.now() > until) throw new Error(`prometheus on ${url} not ready after 20 s:\n${log.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api<T>(path: string): Promise<T> {
  const r = await fetch(`${prom?.url}${path}`);
  const body = (await r.json()) as { status: string; data: T; error?: string };
  if (r.status !== 200 || body.status !== "success")
    throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(body)}`);
  return body.data;
}

/** Polls `check` every 200 ms until it returns a value; throws with `why()` after `ms`. */
async function until<T>(check: () => Promise<T | undefined>, ms: number, why: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${why()}\nprometheus output:\n${prom?.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Sample = { metric: Record<string, string>; value: [number, string] };
const query = (q: string) =>
  api<{ resultType: string; result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`).then((d) => d.result);

beforeAll(async () => {
  const t0 = Date.now();
  s = await dev.start();
  const t1 = Date.now();
  await startPrometheus(new URL(s.url).host, s.key);
  console.log(`prometheus-scrape: aos dev ready in ${t1 - t0} ms, prometheus ready in ${Date.now() - t1} ms`);
}, 90_000);

afterAll(async () => {
  await prom?.dispose();
  if (s) await dev.stop(s);
  await dev.cleanup();
});

describe("Prometheus scraping npm start with monitoring/rules", () => {
  it("scrapes /metrics with the admin key: the aos target is up", async () => {
    const t = Date.now();
    type Target = { labels: { job: string }; health: string; lastError: string; scrapeUrl: string; lastScrape: string };
    let last: Target[] = [];
    const up = await until(
      async () => {
        last = (await api<{ activeTargets: Target[] }>("/api/v1/targets")).activeTargets;
        return last.find((x) => x.labels.job === "aos" && x.health === "up");
      },
      20_000,
      () => `the aos target is not up: ${JSON.stringify(last)}`,
    );
    console.log(`prometheus-scrape: target up ${Date.now() - t} ms after prometheus was ready`);
    expect(up.scrapeUrl).toBe(`${s.url}/metrics`);
    expect(last).toHaveLength(1);
    // A second scrape: rules over rate() need two samples, and most rule errors (duplicate series,
    // many-to-many matches) only show once there is data to evaluate.
    const first = Date.parse(up.lastScrape);
    const second = await until(
      async () => {
        const x = (await api<{ activeTargets: Target[] }>("/api/v1/targets")).activeTargets.find(
          (x) => x.labels.job === "aos",
        );
        return x && x.health === "up" && Date.parse(x.lastScrape) > first ? x : undefined;
      },
      10_000,
      () => "no second scrape of the aos target",
    );
    scrapedWithData = Date.parse(second.lastScrape);
    const v = await query('up{job="aos"}');
    expect(v.map((x) => x.value[1])).toEqual(["1"]);
  });

  it("loads every rule group and rule of monitoring/rules/*.yml and evaluates each without an error", async () => {
    expect(scrapedWithData, "the scrape test runs first").toBeGreaterThan(0);
    const want = declared();
    const wantRules = [...want.values()].reduce((n, r) => n + r.length, 0);
    const t = Date.now();
    let groups: GroupState[] = [];
    await until(
      async () => {
        groups = (await api<{ groups: GroupState[] }>("/api/v1/rules")).groups;
        // Evaluated after the target had been scraped twice: over data, not an empty database.
        const overData = (t: string) => evaluated(t) && Date.parse(t) > scrapedWithData;
        const done =
          groups.length === want.size &&
          groups.every((g) => overData(g.lastEvaluation) && g.rules.every((r) => overData(r.lastEvaluation)));
        return done ? true : undefined;
      },
      20_000,
      () =>
        `not every group evaluated over scraped data: ${groups.length}/${want.size} loaded; not evaluated: ${groups
          .filter((g) => !(evaluated(g.lastEvaluation) && Date.parse(g.lastEvaluation) > scrapedWithData))
          .map((g) => g.name)
          .join(", ")}`,
    );
    const loadedRules = groups.reduce((n, g) => n + g.rules.length, 0);
    console.log(
      `prometheus-scrape: ${groups.length} groups, ${loadedRules} rules (${ruleFiles.length} files) evaluated ${Date.now() - t} ms after the scrape was up`,
    );

    const bad = groups.flatMap((g) =>
      g.rules
        .filter((r) => r.health !== "ok" || r.lastError)
        .map((r) => `${g.name}/${r.name}: health ${r.health}${r.lastError ? `, ${r.lastError}` : ""}`),
    );
    expect(bad, bad.join("\n")).toEqual([]);
    expect(loadedRules).toBe(wantRules);
    expect(new Map(groups.map((g) => [g.name, g.rules.map((r) => r.name)]))).toEqual(want);
    expect(new Set(groups.map((g) => g.file))).toEqual(new Set(ruleFiles));
  });

  it("stores AOS's own series: aos_http_requests_total counts a request made to the server", async () => {
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    let seen: Sample[] = [];
    const sample = await until(
      async () => {
        seen = await query('aos_http_requests_total{job="aos"}');
        return seen.find((x) => /health/.test(x.metric.route ?? "") && Number(x.value[1]) >= 1);
      },
      15_000,
      () => `no aos_http_requests_total for /health: ${JSON.stringify(seen)}`,
    );
    expect(sample.metric).toMatchObject({ job: "aos", status_class: "2xx" });
  });
});
