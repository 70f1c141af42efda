/**
 * The route table (functions/routes.ts, composed from functions/routes/<domain>.ts) holds
 * together: every handler it names exists and exports that function, no two routes share a
 * method and path, no queue or schedule name is used twice, and every domain file is composed.
 */
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { httpRoutes } from "../../functions/routes/declare.ts";
import {
  domains,
  type HttpRoute,
  handlerFile,
  type QueueConsumer,
  queues,
  routeKey,
  routes,
  type Schedule,
  schedules,
} from "../../functions/routes.ts";

interface Table {
  routes: readonly HttpRoute[];
  queues: readonly QueueConsumer[];
  schedules: readonly Schedule[];
}

const twice = (names: string[]) => names.filter((n, i) => names.indexOf(n) !== i);

/** Everything wrong with a table, one line per problem (empty = fine). */
async function problems(t: Table): Promise<string[]> {
  const out: string[] = [];
  for (const e of [...t.routes, ...t.queues, ...t.schedules]) {
    const file = handlerFile(e.handler);
    const fn = e.handler.slice(e.handler.lastIndexOf(".") + 1);
    if (!existsSync(file)) {
      out.push(`${e.handler}: no file ${file}`);
      continue;
    }
    const mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
    if (typeof mod[fn] !== "function") out.push(`${e.handler}: ${file} does not export a function ${fn}`);
  }
  for (const k of twice(t.routes.map(routeKey))) out.push(`${k}: declared twice`);
  for (const n of twice(t.queues.map((q) => q.name))) out.push(`queue ${n}: declared twice`);
  for (const n of twice(t.schedules.map((s) => s.name))) out.push(`schedule ${n}: declared twice`);
  return out;
}

describe("the route table", () => {
  it("names handler files that exist and export the named function; no route, queue or schedule twice", async () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(await problems({ routes, queues, schedules })).toEqual([]);
  }, 60_000);

  it("composes every domain file of functions/routes/", () => {
    const files = readdirSync("functions/routes").filter((f) => f.endsWith(".ts") && f !== "declare.ts");
    expect(domains).toHaveLength(files.length);
    expect(domains.reduce((n, d) => n + d.routes.length, 0)).toBe(routes.length);
  });

  it("flags a missing file, a missing export and a route declared twice", async () => {
    const [health] = httpRoutes("platform", [["GET /health", "health/get", "public", "Liveness"]]);
    const broken: Table = {
      routes: [
        health!,
        { ...health!, summary: "the same method and path again" },
        { ...health!, path: "/nowhere", handler: "functions/http/health/nowhere.handler" },
        { ...health!, path: "/unexported", handler: "functions/http/health/get.notAHandler" },
      ],
      queues: [queues[0]!, queues[0]!],
      schedules: [],
    };
    expect(await problems(broken)).toEqual([
      "functions/http/health/nowhere.handler: no file functions/http/health/nowhere.ts",
      "functions/http/health/get.notAHandler: functions/http/health/get.ts does not export a function notAHandler",
      "GET /health: declared twice",
      `queue ${queues[0]!.name}: declared twice`,
    ]);
  });
});

describe("httpRoutes(): one line per route", () => {
  it("derives the handler from the tag's folder, or takes <dir>/<action> for another folder", () => {
    const [own, other] = httpRoutes("status_history", [
      ["GET /api/v1/status_history", "list", "viewer", "List"],
      ["POST /api/v1/things/{id}", "things/create", "agent", "Create", { links: ["Exports"], timeoutS: 29 }],
    ]);
    expect(own).toEqual({
      method: "GET",
      path: "/api/v1/status_history",
      handler: "functions/http/status-history/list.handler",
      role: "viewer",
      summary: "List",
      tag: "status_history",
    });
    expect(other).toMatchObject({
      method: "POST",
      path: "/api/v1/things/{id}",
      handler: "functions/http/things/create.handler",
      links: ["Exports"],
      timeoutS: 29,
    });
    expect(httpRoutes("x", [["GET /a", "b", "public", "c"]], "elsewhere")[0]!.handler).toBe(
      "functions/http/elsewhere/b.handler",
    );
  });
});
