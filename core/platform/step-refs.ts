/**
 * The `$ref` grammar of a workflow step's args, in one place for the two domains that read it:
 * `{"$ref": "input.channel"}` names the run's input, `{"$ref": "steps.fetch.result.value"}` an
 * EARLIER step's result. Workflows check refs at registration and resolve them when a step runs
 * and when a replay re-derives its args (core/workflows/refs.ts); cost simulation reads the same
 * refs to price a plan before it runs (core/costsim/refs.ts). Here, not in either domain, because
 * workflows imports costsim and never the reverse.
 */
import type { FieldIssue } from "../errors.ts";

const REF = /^(input|steps\.[a-z][a-z0-9_]{0,62}\.result)((?:\.[^.]+)*)$/;

/** An object `{"$ref": "<path>"}` and nothing else. */
export function refOf(v: unknown): string | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, "$ref")) return undefined;
  const ref = (v as { $ref?: unknown }).$ref;
  return typeof ref === "string" && Object.keys(v).length === 1 ? ref : undefined;
}

/** Every `$ref` in `args`, with where it sits (dotted, under `at`). */
export function refsIn(args: unknown, at: string): { ref: string; field: string }[] {
  const out: { ref: string; field: string }[] = [];
  const walk = (v: unknown, field: string) => {
    const ref = refOf(v);
    if (ref !== undefined) {
      out.push({ ref, field });
      return;
    }
    if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(x, `${field}.${i}`);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${field}.${k}`);
  };
  walk(args, at);
  return out;
}

/** The issue of one ref, given the ids of the steps before its step and of all steps; none when it is sound. */
export function refIssue(
  ref: string,
  field: string,
  earlier: ReadonlySet<string>,
  all: ReadonlySet<string>,
): FieldIssue | undefined {
  const parsed = parseRef(ref);
  if (!parsed)
    return { field, message: `$ref must be input.<path> or steps.<id>.result.<path>, not ${JSON.stringify(ref)}` };
  const step = parsed.step;
  if (step === undefined || earlier.has(step)) return undefined;
  return {
    field,
    message: all.has(step)
      ? `$ref names step ${step}, which does not run before this one`
      : `$ref names step ${step}, which this workflow does not have`,
  };
}

/** A ref taken apart: the step it names (none: the input) and the path below. */
export interface ParsedRef {
  step: string | undefined;
  path: readonly string[];
}

/** Refs taken apart once per process (a replay resolves the same ones op after op); at most this many kept. */
const MAX_PARSED = 4096;
const parsedRefs = new Map<string, ParsedRef | null>();

/** The ref taken apart; null when it does not follow the grammar. */
export function parseRef(ref: string): ParsedRef | null {
  let p = parsedRefs.get(ref);
  if (p === undefined) {
    const m = REF.exec(ref);
    p = m
      ? {
          step: m[1] === "input" ? undefined : ((m[1] as string).split(".")[1] as string),
          path: (m[2] ?? "").split(".").filter((s) => s !== ""),
        }
      : null;
    if (parsedRefs.size >= MAX_PARSED) parsedRefs.clear();
    parsedRefs.set(ref, p);
  }
  return p;
}

/** What `path` names below `root`: own keys of objects and in-range indexes of arrays only. */
export function walkPath(root: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur && typeof cur === "object" && !Array.isArray(cur) && Object.hasOwn(cur, seg))
      cur = (cur as Record<string, unknown>)[seg];
    else return { found: false };
  }
  return { found: true, value: cur };
}
