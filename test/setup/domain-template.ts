/**
 * The domain template of docs/adding-a-domain.md, as a checker: what a folder under core/ must
 * have and must not do to count as a domain. `domainProblems(root, name)` lists every way
 * `core/<name>/` departs from it (empty: it follows the template). Used by
 * test/unit/domain-template.test.ts against every domain of the repository, and against broken
 * copies to show that each rule can fail.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Folders of core/ that are not domains: the platform and the settings declarations. */
export const notDomains = new Set(["platform", "settings"]);

/** Every domain folder under `root`/core. */
export function domainsOf(root: string): string[] {
  return readdirSync(join(root, "core"), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !notDomains.has(e.name))
    .map((e) => e.name)
    .sort();
}

const kebab = /^[a-z0-9]+(-[a-z0-9]+)*(\.sql)?\.ts$/;
/** SQL statements in a template literal: they belong in a `*.sql.ts` file. */
const sqlInCode = /`\s*(select\s|insert\s+into\s|update\s+[a-z_]+\s+(?:[a-z]+\s+)?set\s|delete\s+from\s)/i;
const MAX_LINES = 300;

function read(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

function exists(root: string, rel: string): boolean {
  return existsSync(join(root, rel));
}

/**
 * Domains built in parts whose first part has no transport yet: their surroundings (routes,
 * runbook, alert rules and their promtool tests, cross-tenant cases, integration or function
 * tests) are not checked until the part that brings them, named here. Everything inside
 * `core/<name>/` still is. test/unit/domain-template.test.ts fails once such a domain has its
 * surroundings, so the entry goes with the part that adds them.
 */
export const surroundingsPending: Readonly<Record<string, string>> = {};

/** Every departure of `core/<name>/` (and its routes, runbook, rules and tests) from the template. */
export function domainProblems(root: string, name: string, pending = surroundingsPending): string[] {
  const dir = join(root, "core", name);
  const problems: string[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

  // Files: the face, schemas, errors, metrics, and its SQL next to it.
  for (const f of ["index.ts", "schema.ts", "errors.ts", "metrics.ts"]) {
    if (!files.includes(f)) problems.push(`core/${name}/${f} is missing`);
  }
  // A domain whose rows all live in platform pieces says so in its index.ts ("no SQL of its own").
  const noSql = /no SQL of its own/i.test(
    files.includes("index.ts") ? readFileSync(join(dir, "index.ts"), "utf8") : "",
  );
  if (!noSql && !files.some((f) => f.endsWith(".sql.ts"))) problems.push(`core/${name} has no *.sql.ts (its SQL)`);
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    if (!kebab.test(f)) problems.push(`core/${name}/${f}: file names are kebab-case`);
    const lines = text.split("\n").length;
    if (lines > MAX_LINES) problems.push(`core/${name}/${f}: ${lines} lines (split by verb under ${MAX_LINES})`);
    if (!f.endsWith(".sql.ts") && sqlInCode.test(text)) {
      problems.push(`core/${name}/${f}: SQL outside a *.sql.ts file`);
    }
    if (/process\.env/.test(text)) problems.push(`core/${name}/${f}: reads process.env (settings go through config())`);
  }

  // The face: named exports, imported as a namespace (tree-shaken), never an object literal.
  const index = read(join(dir, "index.ts"));
  if (index !== undefined) {
    const objectFace = /^export\s+const\s+[A-Z]\w*\s*(?::[^=]+)?=\s*\{/m.exec(index);
    if (objectFace) problems.push(`core/${name}/index.ts: an object-literal face (${objectFace[0].trim()} ...)`);
    if (/^export\s+\*\s+as\s/m.test(index)) problems.push(`core/${name}/index.ts: export * as (not tree-shaken)`);
  }

  // Errors: classes ending in Error, each a kind of AppError (directly or through core/errors.ts).
  const errors = read(join(dir, "errors.ts"));
  if (errors !== undefined) {
    for (const m of errors.matchAll(/^export\s+class\s+(\w+)(?:\s+extends\s+(\w+))?/gm)) {
      const [, cls, base] = m;
      if (!cls?.endsWith("Error")) problems.push(`core/${name}/errors.ts: class ${cls} does not end in Error`);
      if (!base) problems.push(`core/${name}/errors.ts: class ${cls} extends nothing (extend AppError)`);
    }
    if (!/from\s+["']\.\.\/errors\.ts["']/.test(errors)) {
      problems.push(`core/${name}/errors.ts: does not build on core/errors.ts (the one error tree)`);
    }
  }

  // Around it: routes, runbook, alert rules with their promtool tests, tests, cross-tenant cases.
  if (Object.hasOwn(pending, name)) return problems;
  const around = [
    [`functions/routes/${name}.ts`, "its routes, one line each"],
    [`docs/runbooks/${name}.md`, "its runbook"],
    [`monitoring/rules/${name}.yml`, "its alert rules"],
    [`monitoring/tests/${name}.test.yml`, "the promtool tests of its rules"],
    [`test/functions/cross-tenant/${name}.ts`, "its cross-tenant cases"],
  ] as const;
  for (const [rel, what] of around) if (!exists(root, rel)) problems.push(`${rel} is missing (${what})`);
  const tests = ["test/integration", "test/functions"].flatMap((d) =>
    exists(root, d) ? readdirSync(join(root, d)).filter((f) => f.startsWith(`${name}`) && f.endsWith(".test.ts")) : [],
  );
  if (tests.length === 0) problems.push(`no test/integration/${name}*.test.ts or test/functions/${name}*.test.ts`);
  return problems;
}
