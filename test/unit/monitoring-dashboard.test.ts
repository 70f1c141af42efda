/**
 * The Grafana dashboards of monitoring/dashboards/: every metric a panel's query names is a series
 * AOS exports (test/setup/metrics-catalog.ts: counters and gauges as named, histograms as
 * `_bucket`, `_sum`, `_count`) or a recording rule of monitoring/rules, so a renamed metric or
 * rule breaks this test rather than leaving an empty panel. Also: each dashboard is importable
 * as written (a Prometheus datasource chosen by a variable, unique panel ids and refIds).
 */
import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { allMetricDefinitions, exportedSeries } from "../setup/metrics-catalog.ts";
import { metricNamesIn, recordingRuleNames } from "../setup/promql.ts";

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string }[] };
}

const dir = "monitoring/dashboards";
const dashboards = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((file) => ({ file, d: JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) as Dashboard }));

/** Every panel, those of collapsed rows included. */
const panelsOf = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);

/** Grafana's variables (`$__rate_interval`, `${datasource}`, `$var`) are not PromQL: dropped. */
const withoutVariables = (expr: string) => expr.replace(/\$\{[^}]*\}|\$\w+/g, " ");

const queries = dashboards.flatMap(({ file, d }) =>
  panelsOf(d.panels).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `${file} "${p.title}" ${t.refId}`, expr: t.expr ?? "" })),
  ),
);

let known: Set<string>;
beforeAll(async () => {
  known = new Set([...exportedSeries(await allMetricDefinitions()), ...recordingRuleNames()]);
});

describe("monitoring dashboards", () => {
  it("reads the dashboards, the cost simulation's among them", () => {
    expect(dashboards.map((x) => x.file)).toContain("costsim.json");
    expect(queries.length).toBeGreaterThan(10);
  });

  it("names only series AOS exports and recording rules of monitoring/rules", () => {
    const unknown = queries.flatMap(({ where, expr }) =>
      metricNamesIn(withoutVariables(expr))
        .filter((n) => !known.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    // Every query selects something: the extractor sees its names.
    for (const { where, expr } of queries)
      expect(metricNamesIn(withoutVariables(expr)).length, where).toBeGreaterThan(0);
  });

  it("would refuse a panel naming a metric AOS does not export", () => {
    const expr = 'sum by (trigger) (increase(costsim_cb_trips_total{breaker="costsim"}[$__rate_interval]))';
    expect(metricNamesIn(withoutVariables(expr))).toEqual(["costsim_cb_trips_total"]);
    expect(known.has("costsim_cb_trips_total")).toBe(false);
    // A histogram is exported as its series, never by its bare name; recording rules count.
    expect(known.has("aos_costsim_alert_delivery_seconds")).toBe(false);
    expect(known.has("aos_costsim_alert_delivery_seconds_bucket")).toBe(true);
    expect(known.has("aos:costsim_v2_drift_score:p95_rate5m")).toBe(true);
    // Grafana's variables go before the tokeniser: `$shift` would otherwise read as a name.
    expect(metricNamesIn(withoutVariables("max(x_timestamp_seconds offset $shift) > $limit"))).toEqual([
      "x_timestamp_seconds",
    ]);
  });

  it("chooses its Prometheus by a variable and keeps panel ids and refIds unique", () => {
    for (const { file, d } of dashboards) {
      expect(d.uid, file).toBeTruthy();
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(36);
      const variable = d.templating?.list.find((v) => v.type === "datasource" && v.query === "prometheus");
      expect(variable, `${file}: a datasource variable of type prometheus`).toBeDefined();
      const panels = panelsOf(d.panels);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, `${file}: panel ids`).toBe(ids.length);
      for (const p of panels.filter((x) => x.targets?.length)) {
        expect(p.datasource?.uid, `${file} "${p.title}"`).toBe(`\${${variable?.name}}`);
        const refs = (p.targets ?? []).map((t) => t.refId);
        expect(new Set(refs).size, `${file} "${p.title}" refIds`).toBe(refs.length);
        for (const t of p.targets ?? []) expect(t.expr, `${file} "${p.title}" ${t.refId}`).toBeTruthy();
      }
    }
  });
});
