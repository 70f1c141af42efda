/**
 * Every metric AOS declares follows the naming rule of docs/metrics.md: a seed's name where a seed
 * names it (base unit added), else `aos_<domain>_<what>_<unit>` in base units; no label that grows
 * with users' data unless a seed requires it; every label bounded; every metric in docs/metrics.md.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { MetricDef } from "../../core/platform/metrics/index.ts";
import {
  allMetricDefinitions,
  codeBoundedLabels,
  declarationsOutsideMetricsFiles,
  domainPrefixes,
  metricModules,
  nonBaseUnits,
  seedNamed,
  seedNamedNotYetRecorded,
  seedRequiredLabels,
  userDataLabels,
} from "../setup/metrics-catalog.ts";

/** The rule for one definition: the list of what is wrong with it (empty when it follows it). */
function problems(d: MetricDef): string[] {
  const out: string[] = [];
  const seed = seedNamed[d.name];
  if (seed) {
    if (seed.type !== d.type) out.push(`seed names it a ${seed.type}, declared a ${d.type}`);
  } else {
    const domain = Object.keys(domainPrefixes).find((p) => d.name.startsWith(`aos_${p}_`));
    if (!domain) out.push(`not aos_<domain>_… with a domain of ${Object.keys(domainPrefixes).join(", ")}`);
    else if (d.name.length <= `aos_${domain}_`.length + 1) out.push("no <what> after the domain");
  }
  const parts = d.name.split("_");
  for (const u of nonBaseUnits) if (parts.includes(u)) out.push(`non-base unit "${u}" (use seconds or bytes)`);
  if (d.type === "counter" && !d.name.endsWith("_total")) out.push("a counter ends in _total");
  if (d.type !== "counter" && d.name.endsWith("_total")) out.push("only counters end in _total");
  if (d.type === "histogram" && !/_(seconds|bytes)$/.test(d.name) && !seed?.unit)
    out.push("a histogram ends in its unit");
  for (const l of d.labelNames) {
    const seedRequired = seedRequiredLabels[d.name]?.includes(l) ?? false;
    if (userDataLabels.includes(l) && !seedRequired) out.push(`label ${l} carries users' data and no seed requires it`);
    if (!seedRequired && !d.allow.has(l) && !(l in codeBoundedLabels))
      out.push(`label ${l} has no allowlist and is not bounded by code (codeBoundedLabels)`);
  }
  return out;
}

let defs: MetricDef[];
beforeAll(async () => {
  defs = await allMetricDefinitions();
});

describe("metric names", () => {
  it("finds the metric modules and declarations only in them", () => {
    expect(metricModules()).toEqual(
      expect.arrayContaining([
        "core/credits/metrics.ts",
        "core/jobs/metrics.ts",
        "core/skills/metrics.ts",
        "core/status-history/metrics.ts",
        "core/tenancy/metrics.ts",
      ]),
    );
    expect(declarationsOutsideMetricsFiles()).toEqual([]);
  });

  it("every declared metric follows the rule", () => {
    expect(defs.length).toBeGreaterThan(25);
    const bad = Object.fromEntries(defs.map((d) => [d.name, problems(d)] as const).filter(([, p]) => p.length > 0));
    expect(bad).toEqual({});
  });

  it("exports every seed name that code records, and none that no code records", () => {
    const names = defs.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(Object.keys(seedNamed)));
    for (const n of seedNamedNotYetRecorded) expect(names).not.toContain(n);
    // Renamed to the seed's names: the old names are gone.
    for (const old of ["aos_job_spawn_seconds", "aos_job_completion_seconds", "credit_insufficient_total"])
      expect(names).not.toContain(old);
  });

  it("keeps the seed-required user-data labels, and no other", () => {
    for (const [name, labels] of Object.entries(seedRequiredLabels))
      expect(defs.find((d) => d.name === name)?.labelNames, name).toEqual(expect.arrayContaining([...labels]));
    const withUserData = defs.flatMap((d) =>
      d.labelNames.filter((l) => userDataLabels.includes(l)).map((l) => `${d.name}{${l}}`),
    );
    expect(withUserData.sort()).toEqual(
      Object.entries(seedRequiredLabels)
        .flatMap(([n, ls]) => ls.map((l) => `${n}{${l}}`))
        .sort(),
    );
  });

  it("lists every declared metric in docs/metrics.md, with its type and labels, and nothing else", () => {
    const doc = readFileSync("docs/metrics.md", "utf8");
    const rows = new Map<string, { type: string; labels: string }>();
    for (const m of doc.matchAll(/^\| `([a-z0-9_]+)` \| (counter|histogram|gauge) \| ([^|]*) \|/gm))
      rows.set(m[1] as string, { type: m[2] as string, labels: (m[3] as string).trim() });
    for (const d of defs) {
      const labels = d.labelNames.length ? d.labelNames.map((l) => `\`${l}\``).join(", ") : "-";
      expect(rows.get(d.name), d.name).toEqual({ type: d.type, labels });
    }
    expect([...rows.keys()].sort()).toEqual(defs.map((d) => d.name));
  });

  // The rule itself, shown rejecting what it must.
  it("rejects a wrong name, a non-base unit, an unbounded or user-data label", async () => {
    const { makeDef } = await import("../../core/platform/metrics/definitions.ts");
    expect(
      problems(makeDef("counter", "aos_job_items_total", "h", ["outcome"], { allow: { outcome: ["a"] } })),
    ).toEqual([]);
    expect(problems(makeDef("counter", "jobs_spawned_total", "h", []))[0]).toMatch(/not aos_<domain>/);
    expect(problems(makeDef("counter", "aos_job_spawned", "h", []))).toContain("a counter ends in _total");
    expect(problems(makeDef("histogram", "aos_job_claim_ms", "h", []))).toEqual(
      expect.arrayContaining(['non-base unit "ms" (use seconds or bytes)', "a histogram ends in its unit"]),
    );
    expect(problems(makeDef("gauge", "aos_job_backlog_total", "h", []))).toContain("only counters end in _total");
    expect(problems(makeDef("counter", "aos_job_items_total", "h", ["tenant_id"]))).toContain(
      "label tenant_id carries users' data and no seed requires it",
    );
    expect(problems(makeDef("counter", "aos_job_items_total", "h", ["kind"]))).toContain(
      "label kind has no allowlist and is not bounded by code (codeBoundedLabels)",
    );
    expect(problems(makeDef("histogram", "job_spawn_duration_seconds", "h", []))).toEqual([]);
    expect(problems(makeDef("counter", "job_spawn_duration_seconds", "h", []))[0]).toMatch(/seed names it a histogram/);
  });
});
