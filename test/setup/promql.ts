/**
 * What a PromQL expression selects, for the tests that check monitoring/ against the metrics AOS
 * exports: the alert and recording rules (test/unit/monitoring-rules.test.ts) and the Grafana
 * dashboards (test/unit/monitoring-dashboard.test.ts). A tokeniser, not a parser: it strips what
 * cannot be a metric name and keeps the identifiers left.
 */
import { readdirSync, readFileSync } from "node:fs";
import { parse } from "yaml";

const promqlWords = new Set([
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
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by
 * `(`), not keywords, not label names (inside `{...}` or a `by (...)` / `on (...)` list), not
 * numbers or durations.
 */
export function metricNamesIn(expr: string): string[] {
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

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every rule of monitoring/rules/*.yml (or `dir`), with the file it is in. */
export function monitoringRules(dir = "monitoring/rules"): (Rule & { file: string })[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .sort()
    .flatMap((file) =>
      (parse(readFileSync(`${dir}/${file}`, "utf8")) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) =>
        g.rules.map((r) => ({ file, ...r })),
      ),
    );
}

/** The names of the recording rules of monitoring/rules (series Prometheus makes from AOS's). */
export function recordingRuleNames(dir = "monitoring/rules"): string[] {
  return monitoringRules(dir).flatMap((r) => (r.record ? [r.record] : []));
}
