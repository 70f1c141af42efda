/**
 * The runbooks' commands are real: every `psql "$DATABASE_URL" -c "..."` query is planned
 * (EXPLAIN, nothing runs) against this file's database, migrated like production; every
 * `npx aos ...` names a command the CLI has; every `npx aos api METHOD /path` a route that exists.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pool } from "../../core/platform/db/index.ts";
import { queues } from "../../functions/routes.ts";
import { matchRoute } from "../events/index.ts";

const dir = "docs/runbooks";
const pages = readdirSync(dir)
  .filter((f) => f.endsWith(".md"))
  .map((f) => ({ file: f, text: readFileSync(`${dir}/${f}`, "utf8") }));

const sqlOf = (text: string) =>
  [...text.matchAll(/psql "\$DATABASE_URL" -(?:A?t?c) "((?:[^"\\]|\\.)*)"/g)]
    .map((m) => m[1] as string)
    .filter((sql) => sql !== "<query>"); // the README's generic form
const aosOf = (text: string) =>
  [...text.matchAll(/npx aos ([a-z-]+)(?: ([a-z-]+))?/g)].map((m) => [m[1], m[2]] as const);
const apiOf = (text: string) =>
  [...text.matchAll(/npx aos api (GET|POST|DELETE|PUT|PATCH) '?((?:<[^>]*>|[^\s'`<])+)/g)].map(
    (m) => [m[1] as string, m[2] as string] as const,
  );

describe("runbooks", () => {
  it("plans every SQL query against the real schema", async () => {
    const queries = pages.flatMap((p) => sqlOf(p.text).map((sql) => ({ file: p.file, sql })));
    expect(queries.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const { file, sql } of queries) {
      try {
        await (await pool()).query(`explain ${sql}`);
      } catch (e) {
        failures.push(`${file}: ${sql}\n  ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("rejects a query naming a column the schema does not have", async () => {
    await expect((await pool()).query("explain select lease_expires_at from job_items")).rejects.toThrow(
      /lease_expires_at/,
    );
  });

  it("names only aos commands the CLI has", () => {
    const help = spawnSync("node", ["bin/aos.js", "--help"], { encoding: "utf8" }).stdout;
    const usages = [...help.matchAll(/^ {2}aos ([a-z-]+)(?: ([a-z-]+))?/gm)].map((m) => [m[1], m[2]]);
    expect(usages.length).toBeGreaterThan(8);
    // A usage without a lower-case second word (`aos api <METHOD> ...`, `aos health`) takes any.
    const exists = ([group, sub]: readonly [string | undefined, string | undefined]) =>
      usages.some(([g, s]) => g === group && (s === undefined || s === sub));
    const used = pages.flatMap((p) => aosOf(p.text).map((c) => ({ file: p.file, c })));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter(({ c }) => !exists(c)).map(({ file, c }) => `${file}: aos ${c.join(" ")}`)).toEqual([]);
    expect(exists(["keys", "rotate"])).toBe(false);
  });

  it("lists every queue of routes.ts in queues.md with its DLQ's receive count, and no other", () => {
    const text = pages.find((p) => p.file === "queues.md")?.text ?? "";
    const byName = (rows: [string, number][]) => rows.sort(([a], [b]) => a.localeCompare(b));
    const listed = [...text.matchAll(/^\| `([A-Za-z]+)` \| (\d+) \|/gm)].map((m): [string, number] => [
      m[1] as string,
      Number(m[2]),
    ]);
    expect(listed.length).toBeGreaterThan(0);
    expect(byName(listed)).toEqual(byName(queues.map((q) => [q.name, q.maxReceiveCount])));
  });

  it("calls only API routes that exist", () => {
    const calls = pages.flatMap((p) => apiOf(p.text).map(([m, path]) => ({ file: p.file, m, path })));
    expect(calls.length).toBeGreaterThan(5);
    const missing = calls.filter(({ m, path }) => {
      const concrete = path.split("?")[0]?.replace(/<[^>]+>/g, "00000000-0000-7000-8000-000000000000") ?? "";
      return !matchRoute(m, concrete);
    });
    expect(missing.map(({ file, m, path }) => `${file}: ${m} ${path}`)).toEqual([]);
    expect(matchRoute("POST", "/api/v1/jobs/x/restart")).toBeUndefined();
  });
});
