/**
 * One style of SQL in core: `CAST(x AS type)`, never `::`, in every SQL module; state names
 * written in from their constants through `sqlLiteral`, which lets nothing but a plain name in.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sqlLiteral, sqlLiterals } from "../../core/platform/db/index.ts";

function sqlModules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sqlModules(p);
    return e.name.endsWith(".sql.ts") || p === join("core", "platform", "db", "copy.ts") ? [p] : [];
  });
}

/** `::` outside comments (a line starting with `*` or `//` is a comment). */
function doubleColonCasts(file: string, text = readFileSync(file, "utf8")): string[] {
  return text
    .split("\n")
    .map((line, n) => ({ line: line.trim(), n: n + 1 }))
    .filter(({ line }) => !line.startsWith("*") && !line.startsWith("/*") && !line.startsWith("//"))
    .filter(({ line }) => /[\w)\]}]::[A-Za-z$]/.test(line))
    .map(({ line, n }) => `${file}:${n}: ${line}`);
}

describe("SQL style", () => {
  it("casts with CAST(x AS type) in every SQL module of core", () => {
    const files = sqlModules("core");
    expect(files.length).toBeGreaterThan(8);
    expect(files.flatMap((f) => doubleColonCasts(f))).toEqual([]);
  });

  it("finds a :: cast when there is one (the check can fail)", () => {
    const sample = "export const sql = `select id::text from t\n  // a comment: x::int\n  where id = $1`;";
    expect(doubleColonCasts("sample.sql.ts", sample)).toEqual([
      "sample.sql.ts:1: export const sql = `select id::text from t",
    ]);
  });

  it("writes a state name as a literal and refuses anything that could leave the quotes", () => {
    expect(sqlLiteral("pending")).toBe("'pending'");
    expect(sqlLiterals({ a: "HALF_OPEN", b: "done" })).toEqual({ a: "'HALF_OPEN'", b: "'done'" });
    for (const bad of ["it's", "x' or '1'='1", "", "a b", "done;"]) expect(() => sqlLiteral(bad)).toThrow();
  });
});
