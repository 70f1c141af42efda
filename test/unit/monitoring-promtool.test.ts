/**
 * The monitoring harness through the real tools: `promtool check rules` (lint all) and
 * `promtool test rules` on monitoring/, `promtool check config --syntax-only` on the example
 * Prometheus configuration and `amtool check-config` on the example Alertmanager configuration.
 * Fails, never skips, when the tools are missing (ensurePrometheusTools installs Debian's
 * `prometheus` and `prometheus-alertmanager` as root). Each tool is also shown refusing a broken file.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePrometheusTools } from "../../local/services.ts";

let tools: { promtool: string; amtool: string };
const scratch = mkdtempSync(join(tmpdir(), "aos-monitoring-"));
beforeAll(() => {
  tools = ensurePrometheusTools();
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd = "monitoring") {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const files = (dir: string, suffix: string) =>
  readdirSync(`monitoring/${dir}`)
    .filter((f) => f.endsWith(suffix))
    .map((f) => `${dir}/${f}`)
    .sort();

describe("promtool and amtool on monitoring/", () => {
  it("promtool check rules passes every rule file, lint included", () => {
    const rules = files("rules", ".yml");
    const r = run(tools.promtool, ["check", "rules", "--lint=all", ...rules]);
    expect(r.out).not.toMatch(/FAILED|WARNING/);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/SUCCESS/g)).toHaveLength(rules.length);
  });

  it("promtool test rules passes every unit test", () => {
    const tests = files("tests", ".test.yml");
    const r = run(tools.promtool, ["test", "rules", ...tests]);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/SUCCESS/g)).toHaveLength(tests.length);
  });

  it("the example configurations are valid", () => {
    const prom = run(tools.promtool, ["check", "config", "--syntax-only", "prometheus.yml"]);
    expect(prom.status, prom.out).toBe(0);
    const am = run(tools.amtool, ["check-config", "alertmanager.yml"]);
    expect(am.status, am.out).toBe(0);
    expect(am.out).toContain("SUCCESS");
  });

  it("each tool refuses what is wrong", () => {
    const badRule = join(scratch, "bad.yml");
    writeFileSync(
      badRule,
      "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(aos_http_requests_total[5m] > 1\n",
    );
    expect(run(tools.promtool, ["check", "rules", badRule]).status).not.toBe(0);

    // A test that expects the stuck-items alert from a quiet series must fail.
    const wrongTest = join(scratch, "wrong.test.yml");
    writeFileSync(
      wrongTest,
      [
        "rule_files: [" + JSON.stringify(join(process.cwd(), "monitoring/rules/jobs.yml")) + "]",
        "tests:",
        "  - interval: 1m",
        "    input_series:",
        '      - series: "aos_job_stuck_items"',
        '        values: "0x20"',
        "    alert_rule_test:",
        "      - eval_time: 15m",
        "        alertname: AosJobItemsStuck",
        "        exp_alerts:",
        "          - exp_labels: { severity: page, subsystem: jobs }",
        "",
      ].join("\n"),
    );
    const t = run(tools.promtool, ["test", "rules", wrongTest]);
    expect(t.status).not.toBe(0);
    expect(t.out).toContain("FAILED");

    const badAm = join(scratch, "alertmanager.yml");
    writeFileSync(badAm, "route:\n  receiver: nobody\nreceivers:\n  - name: somebody\n");
    expect(run(tools.amtool, ["check-config", badAm]).status).not.toBe(0);
  });
});
