/**
 * Match a request to a route of routes.ts: `{name}` takes one path segment, a trailing `{name+}`
 * takes one or more; when several paths match, the most specific wins (a literal segment beats
 * `{param}`, which beats `{proxy+}`, leftmost first), whatever the method. A method that path does
 * not have is a 405 listing the ones it has (`resolve`), so `GET /api/v1/jobs/simulate` is a 405
 * (POST only), not a bad job id for `GET /api/v1/jobs/{id}`; HEAD is served by a path's GET.
 *
 * API Gateway (HTTP API) differs: it picks the most specific route of the request's method; a
 * request no route of its method matches goes to the `$default` route, whose function
 * (functions/http/fallback.ts) resolves it here: a 405 with `Allow`, or a 404, as locally
 * (docs/api.md says what production answers). Used by `npm start` (local/http-server.ts) too.
 */
import type { HttpRoute } from "../routes.ts";

type Segment = { kind: "literal"; text: string } | { kind: "param"; name: string } | { kind: "greedy"; name: string };

interface Compiled<R> {
  route: R;
  segments: Segment[];
}

export interface RouteMatch<R> {
  route: R;
  /** Decoded values; undefined when the route has no parameters (as in the event). */
  pathParameters: Record<string, string> | undefined;
}

/** What a request resolves to: a route, a path without that method (405), or nothing (404). */
export type Resolved<R> =
  | { kind: "route"; match: RouteMatch<R>; head: boolean }
  | { kind: "method_not_allowed"; allow: string[] }
  | { kind: "not_found" };

export class RouteTableError extends Error {
  override name = "RouteTableError";
}

function compile(path: string): Segment[] {
  return split(path).map((s, i, all) => {
    const greedy = /^\{([A-Za-z0-9_.-]+)\+\}$/.exec(s);
    if (greedy?.[1]) {
      if (i !== all.length - 1) throw new RouteTableError(`${path}: {${greedy[1]}+} must be the last segment`);
      return { kind: "greedy", name: greedy[1] };
    }
    const param = /^\{([A-Za-z0-9_.-]+)\}$/.exec(s);
    if (param?.[1]) return { kind: "param", name: param[1] };
    if (/[{}]/.test(s)) throw new RouteTableError(`${path}: "${s}" mixes text and a parameter`);
    return { kind: "literal", text: s };
  });
}

const split = (path: string) => (path === "/" ? [""] : path.replace(/^\//, "").split("/"));

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const rank: Record<Segment["kind"], number> = { literal: 0, param: 1, greedy: 2 };

/** Negative when `a` is more specific than `b`. */
function compareSpecificity(a: Segment[], b: Segment[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const sa = a[i];
    const sb = b[i];
    const x = sa ? rank[sa.kind] : 3;
    const y = sb ? rank[sb.kind] : 3;
    if (x !== y) return x - y;
  }
  return 0;
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Segment;
    if (seg.kind === "greedy") {
      const rest = parts.slice(i).map(decode).join("/");
      if (!rest) return undefined;
      params[seg.name] = rest;
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === "literal" ? decode(part) !== seg.text : part === "") return undefined;
    if (seg.kind === "param") params[seg.name] = decode(part);
  }
  return segments.length === parts.length ? params : undefined;
}

export function createRouter<R extends Pick<HttpRoute, "method" | "path">>(routes: readonly R[]) {
  const compiled: Compiled<R>[] = routes
    .map((route) => ({ route, segments: compile(route.path) }))
    .sort((a, b) => compareSpecificity(a.segments, b.segments));
  const seen = new Set<string>();
  for (const { route } of compiled) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new RouteTableError(`route ${key} is defined twice`);
    seen.add(key);
  }
  const toMatch = (route: R, params: Record<string, string>): RouteMatch<R> => ({
    route,
    pathParameters: Object.keys(params).length ? params : undefined,
  });
  return {
    /** The most specific route of `method` (API Gateway's choice); `rawPath` still percent-encoded. */
    match(method: string, rawPath: string): RouteMatch<R> | undefined {
      const parts = split(rawPath);
      for (const c of compiled) {
        if (c.route.method !== method.toUpperCase()) continue;
        const params = matchSegments(c.segments, parts);
        if (params) return toMatch(c.route, params);
      }
      return undefined;
    },
    /** The most specific path of any method, then the request's method on it (HEAD by its GET). */
    resolve(method: string, rawPath: string): Resolved<R> {
      const parts = split(rawPath);
      const m = method.toUpperCase();
      const best = compiled.find((c) => matchSegments(c.segments, parts));
      if (!best) return { kind: "not_found" };
      const params = matchSegments(best.segments, parts) as Record<string, string>;
      const onPath = compiled.filter((c) => c.route.path === best.route.path).map((c) => c.route);
      const route =
        onPath.find((r) => r.method === m) ?? (m === "HEAD" ? onPath.find((r) => r.method === "GET") : undefined);
      if (route) return { kind: "route", match: toMatch(route, params), head: m === "HEAD" };
      const allow: string[] = onPath.map((r) => r.method);
      if (allow.includes("GET")) allow.push("HEAD");
      return { kind: "method_not_allowed", allow: [...new Set(allow)].sort() };
    },
  };
}
