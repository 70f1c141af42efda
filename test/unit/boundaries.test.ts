/**
 * The import-boundary check (`npm run boundaries`, dependency-cruiser) is itself tested: each
 * rule is shown failing on a probe file that breaks it, and a well-behaved probe passes.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const probes: string[] = [];
afterAll(() => {
  for (const p of probes) rmSync(p, { force: true });
  for (const d of ["core/zz-probe-a", "core/zz-probe-b"]) rmSync(d, { recursive: true, force: true });
});

function violations(file: string, source: string): string[] {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, source);
  probes.push(file);
  let out: string;
  try {
    out = execFileSync(
      "node_modules/.bin/depcruise",
      ["--config", ".dependency-cruiser.cjs", "--output-type", "json", file],
      {
        encoding: "utf8",
      },
    );
  } catch (e) {
    out = (e as { stdout: string }).stdout; // exits non-zero when rules are broken
  }
  const report = JSON.parse(out) as { summary: { violations: { rule: { name: string } }[] } };
  return report.summary.violations.map((v) => v.rule.name);
}

describe("import boundaries", () => {
  it("core/ may not import functions/", () => {
    expect(
      violations(
        "core/zz-probe-a/a1.ts",
        'import { routes } from "../../functions/routes.ts";\nexport const x = routes;\n',
      ),
    ).toContain("core-not-transport");
  });
  it("core/ may not import @middy/*", () => {
    expect(
      violations("core/zz-probe-a/a2.ts", 'import middy from "@middy/core";\nexport const x = middy;\n'),
    ).toContain("core-not-transport");
  });
  it("core/ may not import aws-lambda types", () => {
    expect(
      violations("core/zz-probe-a/a3.ts", 'import type { Context } from "aws-lambda";\nexport type X = Context;\n'),
    ).toContain("core-not-transport");
  });
  it("a domain may not reach into another domain's internals", () => {
    expect(
      violations("core/zz-probe-b/b1.ts", 'import { hashKey } from "../tenancy/keys.ts";\nexport const x = hashKey;\n'),
    ).toContain("domain-through-index");
  });
  it("a domain may use another through its index.ts", () => {
    expect(
      violations(
        "core/zz-probe-b/b2.ts",
        'import * as Tenancy from "../tenancy/index.ts";\nexport const x = Tenancy;\n',
      ),
    ).toEqual([]);
  });
  it("a handler may not import another handler", () => {
    expect(
      violations(
        "functions/http/zz-probe.ts",
        'import { handler } from "./keys/list.ts";\nexport const x = handler;\n',
      ),
    ).toContain("handlers-not-each-other");
  });
  it("stacks/ may import only routes.ts", () => {
    expect(
      violations("stacks/zz-probe.ts", 'import { config } from "../core/config.ts";\nexport const x = config;\n'),
    ).toContain("stacks-only-routes");
  });
  it("stacks/ may import a domain's route declarations", () => {
    expect(
      violations(
        "stacks/zz-probe-ok.ts",
        'import { jobs } from "../functions/routes/jobs.ts";\nexport const x = jobs;\n',
      ),
    ).toEqual([]);
  });
  it("route declarations may not import core/ (they stay plain data)", () => {
    expect(
      violations(
        "functions/routes/zz-probe.ts",
        'import { config } from "../../core/config.ts";\nexport const x = config;\n',
      ),
    ).toContain("routes-are-data");
  });
});
