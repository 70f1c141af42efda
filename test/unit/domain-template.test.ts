/**
 * Every domain under core/ follows docs/adding-a-domain.md; a broken copy of a domain shows each
 * rule failing.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { domainProblems, domainsOf, surroundingsPending } from "../setup/domain-template.ts";

const root = resolve(import.meta.dirname, "../..");

describe("the domain template (docs/adding-a-domain.md)", () => {
  it("finds the domains of core/", () => {
    expect(domainsOf(root)).toEqual(expect.arrayContaining(["credits", "jobs", "skills", "status-history", "tenancy"]));
  });

  for (const name of domainsOf(root)) {
    it(`core/${name} follows it`, () => {
      expect(domainProblems(root, name)).toEqual([]);
    });
  }

  for (const [name, why] of Object.entries(surroundingsPending)) {
    it(`core/${name} still waits for its surroundings (${why}): drop its entry once they exist`, () => {
      expect(domainsOf(root)).toContain(name);
      const missing = domainProblems(root, name, {});
      expect(missing.length).toBeGreaterThan(0);
      // Only the surroundings are waived: nothing inside core/<name>/ is among them.
      for (const p of missing) expect(p.startsWith(`core/${name}`), p).toBe(false);
    });
  }

  describe("a domain that departs from it", () => {
    const tmp = mkdtempSync(join(tmpdir(), "aos-domain-"));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    /** A copy of credits (and what surrounds it) under another root, as `thing`. */
    function copyOfCredits(): string {
      const r = mkdtempSync(join(tmp, "r-"));
      cpSync(join(root, "core/credits"), join(r, "core/thing"), { recursive: true });
      const around: Array<[string, string]> = [
        ["functions/routes/credits.ts", "functions/routes/thing.ts"],
        ["docs/runbooks/credits.md", "docs/runbooks/thing.md"],
        ["monitoring/rules/credits.yml", "monitoring/rules/thing.yml"],
        ["monitoring/tests/credits.test.yml", "monitoring/tests/thing.test.yml"],
        ["test/functions/cross-tenant/credits.ts", "test/functions/cross-tenant/thing.ts"],
        ["test/integration/credits.test.ts", "test/integration/thing.test.ts"],
      ];
      for (const [from, to] of around) {
        mkdirSync(join(r, to, ".."), { recursive: true });
        cpSync(join(root, from), join(r, to));
      }
      return r;
    }

    it("a faithful copy passes", () => {
      expect(domainProblems(copyOfCredits(), "thing")).toEqual([]);
    });

    it("names each departure", () => {
      const r = copyOfCredits();
      const d = join(r, "core/thing");
      rmSync(join(d, "metrics.ts"));
      rmSync(join(r, "docs/runbooks/thing.md"));
      rmSync(join(r, "monitoring/tests/thing.test.yml"));
      rmSync(join(r, "test/functions/cross-tenant/thing.ts"));
      writeFileSync(join(d, "index.ts"), 'import { grant } from "./balance.ts";\nexport const Thing = { grant };\n');
      writeFileSync(
        join(d, "errors.ts"),
        'import { AppError } from "../errors.ts";\nexport class ThingFailed extends AppError {}\nexport class Odd {}\n',
      );
      writeFileSync(join(d, "Grant.ts"), "export const x = `select 1 from thing`;\nconst e = process.env.X;\n");
      writeFileSync(join(d, "long.ts"), "// line\n".repeat(320));
      expect(domainProblems(r, "thing")).toEqual([
        "core/thing/metrics.ts is missing",
        "core/thing/Grant.ts: file names are kebab-case",
        "core/thing/Grant.ts: SQL outside a *.sql.ts file",
        "core/thing/Grant.ts: reads process.env (settings go through config())",
        "core/thing/long.ts: 321 lines (split by verb under 300)",
        "core/thing/index.ts: an object-literal face (export const Thing = { ...)",
        "core/thing/errors.ts: class ThingFailed does not end in Error",
        "core/thing/errors.ts: class Odd does not end in Error",
        "core/thing/errors.ts: class Odd extends nothing (extend AppError)",
        "docs/runbooks/thing.md is missing (its runbook)",
        "monitoring/tests/thing.test.yml is missing (the promtool tests of its rules)",
        "test/functions/cross-tenant/thing.ts is missing (its cross-tenant cases)",
      ]);
    });

    it("wants its SQL, its tests and its routes", () => {
      const r = copyOfCredits();
      rmSync(join(r, "core/thing/credits.sql.ts"));
      rmSync(join(r, "test/integration/thing.test.ts"));
      rmSync(join(r, "functions/routes/thing.ts"));
      writeFileSync(join(r, "core/thing/index.ts"), 'export * as Thing from "./balance.ts";\n');
      expect(domainProblems(r, "thing")).toEqual([
        "core/thing has no *.sql.ts (its SQL)",
        "core/thing/index.ts: export * as (not tree-shaken)",
        "functions/routes/thing.ts is missing (its routes, one line each)",
        "no test/integration/thing*.test.ts or test/functions/thing*.test.ts",
      ]);
    });
  });
});
