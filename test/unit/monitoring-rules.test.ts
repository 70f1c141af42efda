/**
 * The monitoring harness (monitoring/): every metric a rule names is one AOS exports (or a
 * recording rule, or Prometheus' own `up`); every alert has a severity, a subsystem, a summary, a
 * description and a runbook_url to an existing section of docs/runbooks/<subsystem>.md (or of a
 * part of it, docs/runbooks/<subsystem>-<part>.md); the seed's M6 alerts carry their priority
 * (P1 pages); every alert has promtool unit tests that fire and that stay quiet; every domain
 * under core/ has a runbook. The promtool/amtool runs themselves are in
 * monitoring-promtool.test.ts; the PromQL tokeniser is test/setup/promql.ts.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { surroundingsPending } from "../setup/domain-template.ts";
import { allMetricDefinitions, exportedSeries, prometheusSeries } from "../setup/metrics-catalog.ts";
import { metricNamesIn, monitoringRules } from "../setup/promql.ts";

interface TestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rulesDir = "monitoring/rules";
const testsDir = "monitoring/tests";
const ruleFiles = readdirSync(rulesDir)
  .filter((f) => f.endsWith(".yml"))
  .sort();
const allRules = monitoringRules(rulesDir);
const alerts = allRules.filter((r) => r.alert);

let known: Set<string>;
beforeAll(async () => {
  const defs = await allMetricDefinitions();
  known = new Set([
    ...exportedSeries(defs),
    ...allRules.flatMap((r) => (r.record ? [r.record] : [])),
    ...prometheusSeries,
  ]);
});

describe("monitoring rules", () => {
  it("reads the rules of every subsystem", () => {
    expect(ruleFiles).toEqual(
      expect.arrayContaining([
        "api.yml",
        "queues.yml",
        "schedules.yml",
        "metrics.yml",
        "jobs.yml",
        "credits.yml",
        "skills.yml",
        "status-history.yml",
        "tenancy.yml",
      ]),
    );
    expect(alerts.length).toBeGreaterThan(20);
  });

  it("names only metrics AOS exports, recording rules and Prometheus' own series", () => {
    const unknown = allRules.flatMap((r) =>
      metricNamesIn(r.expr)
        .filter((n) => !known.has(n))
        .map((n) => `${r.file} ${r.alert ?? r.record}: ${n}`),
    );
    expect(unknown).toEqual([]);
    // Every rule selects something: the extractor sees the names.
    for (const r of allRules) expect(metricNamesIn(r.expr).length, r.alert ?? r.record).toBeGreaterThan(0);
  });

  it("would refuse a rule naming a metric AOS does not export", () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, route) (rate(aos_job_spawn_seconds_bucket{a="b"}[5m]))) > 1e6',
      ),
    ).toEqual(["aos_job_spawn_seconds_bucket"]);
    for (const gone of [
      "aos_job_spawn_seconds_bucket",
      "credit_insufficient_total",
      "m11_replay_runs",
      "job_spawn_duration_seconds",
    ])
      expect(known.has(gone), gone).toBe(false);
    expect(known.has("job_spawn_duration_seconds_bucket")).toBe(true);
    expect(metricNamesIn('up{job="aos"} == 0 or absent(aos_cron_runs_total{name="JobSweep"})')).toEqual([
      "up",
      "aos_cron_runs_total",
    ]);
  });

  it("gives every alert a severity, its file's subsystem, a summary, a description and a runbook section", () => {
    for (const a of alerts) {
      const subsystem = a.file.replace(/\.yml$/, "");
      expect(a.labels, a.alert).toMatchObject({ severity: expect.stringMatching(/^(page|ticket)$/), subsystem });
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      // The subsystem's page, or one of its parts (docs/runbooks/costsim-canary.md for costsim).
      const url = a.annotations?.runbook_url ?? "";
      const page = new RegExp(`^docs/runbooks/(${subsystem}(?:-[a-z0-9-]+)?)\\.md#(.+)$`).exec(url);
      expect(page?.[2], `${a.alert}: ${url}`).toBe((a.alert as string).toLowerCase());
      const runbook = readFileSync(`docs/runbooks/${page?.[1]}.md`, "utf8");
      const section = runbook.split(/^## /m).find((s) => s.startsWith(`${a.alert}\n`));
      expect(section, `${a.alert} in docs/runbooks/${page?.[1]}.md`).toBeDefined();
      for (const part of ["Symptoms", "First checks", "Fixes", "Recovery"])
        expect(section, `${a.alert}: ${part}`).toContain(`**${part}**`);
    }
  });

  it("marks the seed's M6 alerts with their priority, P1 paging and P2/P3 as tickets", () => {
    // Seed 001's "Alert Rules Added" table and seed 004's M6.2 P1/P2/P3, by name.
    const seed: Record<string, string> = {
      CostSimV2HighDrift: "P1",
      CostSimV2DriftWarning: "P2",
      CostSimV2CircuitBreakerOpen: "P1",
      CostSimV2CanaryFailure: "P2",
      CostSimAlertQueueBacklog: "P2",
      CostSimAlertSendFailures: "P2",
      CostSimRapidCBTrips: "P1",
      CostSimHighConsecutiveFailures: "P2",
      AosCostsimSchemaErrors: "P3",
    };
    for (const [name, priority] of Object.entries(seed))
      expect(alerts.find((a) => a.alert === name)?.labels?.priority, name).toBe(priority);
    for (const a of alerts.filter((r) => r.labels?.priority !== undefined)) {
      expect(a.labels?.priority, a.alert).toMatch(/^P[123]$/);
      expect(a.labels?.severity, a.alert).toBe(a.labels?.priority === "P1" ? "page" : "ticket");
    }
  });

  it("has a promtool test of every alert that fires and one that stays quiet", () => {
    const cases = new Map<string, { fires: number; quiet: number }>();
    for (const f of readdirSync(testsDir).filter((n) => n.endsWith(".test.yml"))) {
      const t = parse(readFileSync(`${testsDir}/${f}`, "utf8")) as TestFile;
      for (const rf of t.rule_files) expect(existsSync(`${testsDir}/${rf}`), rf).toBe(true);
      for (const test of t.tests)
        for (const a of test.alert_rule_test ?? []) {
          const c = cases.get(a.alertname) ?? { fires: 0, quiet: 0 };
          if (a.exp_alerts.length) c.fires++;
          else c.quiet++;
          cases.set(a.alertname, c);
        }
    }
    for (const a of alerts) {
      const c = cases.get(a.alert as string);
      expect(c?.fires, `${a.alert} fires`).toBeGreaterThan(0);
      expect(c?.quiet, `${a.alert} stays quiet`).toBeGreaterThan(0);
    }
  });

  it("has a runbook for every domain under core/ and for each subsystem with rules", () => {
    // A domain folder has its own errors (house style); core/platform and core/settings do not.
    const domains = readdirSync("core", { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`core/${d.name}/errors.ts`))
      .map((d) => d.name);
    expect(domains).toEqual(expect.arrayContaining(["credits", "jobs", "skills", "status-history", "tenancy"]));
    // A domain built in parts waits for its runbook with its transport (test/setup/domain-template.ts).
    for (const d of domains)
      if (!Object.hasOwn(surroundingsPending, d)) expect(existsSync(`docs/runbooks/${d}.md`), d).toBe(true);
    for (const f of ruleFiles) expect(existsSync(`docs/runbooks/${f.replace(/\.yml$/, ".md")}`), f).toBe(true);
  });
});
