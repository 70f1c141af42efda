/**
 * The monitoring harness (monitoring/): every metric a rule names is one AOS exports (or a
 * recording rule, or Prometheus' own `up`); every alert has a severity, a subsystem, a summary, a
 * description and a runbook_url to an existing section of docs/runbooks/<subsystem>.md; every
 * alert has promtool unit tests that fire and that stay quiet; every domain under core/ has a
 * runbook. The promtool/amtool runs themselves are in monitoring-promtool.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { surroundingsPending } from "../setup/domain-template.ts";
import { allMetricDefinitions, exportedSeries, prometheusSeries } from "../setup/metrics-catalog.ts";

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface TestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rulesDir = "monitoring/rules";
const testsDir = "monitoring/tests";
const ruleFiles = readdirSync(rulesDir)
  .filter((f) => f.endsWith(".yml"))
  .sort();
const rulesOf = (f: string) =>
  (parse(readFileSync(`${rulesDir}/${f}`, "utf8")) as RuleFile).groups.flatMap((g) => g.rules);
const allRules = ruleFiles.flatMap((f) => rulesOf(f).map((r) => ({ file: f, ...r })));
const alerts = allRules.filter((r) => r.alert);

const promqlWords = new Set(
  [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
  ].map((w) => w.toLowerCase()),
);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by
 * `(`), not keywords, not label names (inside `{...}` or a `by (...)` / `on (...)` list), not
 * numbers or durations.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (after.startsWith("(")) continue;
    if (promqlWords.has(word.toLowerCase())) continue;
    // The exponent of a number such as 1e6 is not a name.
    if (/[0-9.]$/.test(stripped.slice(0, m.index ?? 0))) continue;
    names.add(word);
  }
  return [...names];
}

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
      const url = `docs/runbooks/${subsystem}.md#${(a.alert as string).toLowerCase()}`;
      expect(a.annotations?.runbook_url, a.alert).toBe(url);
      const runbook = readFileSync(`docs/runbooks/${subsystem}.md`, "utf8");
      const section = runbook.split(/^## /m).find((s) => s.startsWith(`${a.alert}\n`));
      expect(section, `${a.alert} in docs/runbooks/${subsystem}.md`).toBeDefined();
      for (const part of ["Symptoms", "First checks", "Fixes", "Recovery"])
        expect(section, `${a.alert}: ${part}`).toContain(`**${part}**`);
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
