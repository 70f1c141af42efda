/**
 * `GET /metrics`, with every metric AOS declares recorded at least once, passes the real
 * `promtool check metrics` (Prometheus' own linter: names, units, counters' _total, help texts,
 * histogram series) without a single remark. Fails, never skips, when promtool is missing
 * (ensurePrometheusTools installs it as root).
 */
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { counter, flushMetrics, gauge, histogram, type MetricDef } from "../../core/platform/metrics/index.ts";
import { ensurePrometheusTools } from "../../local/services.ts";
import { invoke } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { allMetricDefinitions, sampleLabels } from "../setup/metrics-catalog.ts";

let tools: { promtool: string };
let defs: MetricDef[];

beforeAll(async () => {
  tools = ensurePrometheusTools();
  defs = await allMetricDefinitions();
});

/** Record one sample of `d` through the public API (re-declaring it is idempotent for the same shape). */
function recordOnce(d: MetricDef): void {
  const allow = Object.fromEntries([...d.allow].map(([l, v]) => [l, [...v]]));
  const labels = sampleLabels(d);
  if (d.type === "counter") counter(d.name, d.help, d.labelNames, { allow }).inc(labels, 1);
  else if (d.type === "gauge") gauge(d.name, d.help, d.labelNames, { allow }).set(labels, 1);
  else histogram(d.name, d.help, d.labelNames, { allow, buckets: [...(d.buckets ?? [])] }).observe(labels, 0.2);
}

function promtoolCheck(text: string): { status: number | null; out: string } {
  const r = spawnSync(tools.promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

describe("GET /metrics and promtool check metrics", () => {
  it("is clean with every declared metric recorded", async () => {
    for (const d of defs) recordOnce(d);
    await flushMetrics();
    const t = await makeTenantWithKeys();
    const res = await invoke("GET", "/metrics", { key: t.keys.admin.key });
    expect(res.status).toBe(200);
    for (const d of defs) {
      expect(res.text, d.name).toContain(`# TYPE ${d.name} ${d.type}\n`);
      const sample = d.type === "histogram" ? `${d.name}_count` : d.name;
      expect(res.text, d.name).toMatch(new RegExp(`^${sample}(\\{[^}]*\\})? [1-9]`, "m"));
    }
    expect(promtoolCheck(res.text)).toEqual({ status: 0, out: "" });
  });

  it("is not a rubber stamp: promtool flags a counter without _total and a non-base unit", () => {
    const bad = [
      "# HELP aos_job_spawned Spawned jobs",
      "# TYPE aos_job_spawned counter",
      "aos_job_spawned 1",
      "# HELP aos_job_claim_milliseconds Claim latency",
      "# TYPE aos_job_claim_milliseconds gauge",
      "aos_job_claim_milliseconds 3",
      "",
    ].join("\n");
    const r = promtoolCheck(bad);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('counter metrics should have "_total" suffix');
    expect(r.out).toContain("use base unit");
  });
});
