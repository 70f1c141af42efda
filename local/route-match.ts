/**
 * Match a request to a route of routes.ts as API Gateway (HTTP API) does: `{name}` takes one
 * path segment, a trailing `{name+}` takes one or more; when several routes match, the most
 * specific wins (a literal segment beats `{param}`, which beats `{proxy+}`, leftmost first).
 * An unknown method on a known path is no match at all: API Gateway answers 404, not 405.
 */
import type { HttpRoute } from "../functions/routes.ts";

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
  return {
    /** `rawPath` as received (still percent-encoded). */
    match(method: string, rawPath: string): RouteMatch<R> | undefined {
      const parts = split(rawPath);
      for (const c of compiled) {
        if (c.route.method !== method.toUpperCase()) continue;
        const params = matchSegments(c.segments, parts);
        if (params) return { route: c.route, pathParameters: Object.keys(params).length ? params : undefined };
      }
      return undefined;
    },
  };
}
