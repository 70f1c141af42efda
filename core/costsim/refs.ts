/**
 * `$ref`s in a workflow step's args, as far as simulation needs them: which refs are there, which
 * name an earlier step, and the args with the run's input filled in. The grammar is the one of
 * core/workflows/refs.ts (the reference: test/unit/costsim-plan.test.ts holds the two to the same
 * answers); it is restated here because workflows will import costsim, never the reverse.
 */
import type { FieldIssue } from "../errors.ts";

const REF = /^(input|steps\.[a-z][a-z0-9_]{0,62}\.result)((?:\.[^.]+)*)$/;

/** An object `{"$ref": "<path>"}` and nothing else. */
function refOf(v: unknown): string | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, "$ref")) return undefined;
  const ref = (v as { $ref?: unknown }).$ref;
  return typeof ref === "string" && Object.keys(v).length === 1 ? ref : undefined;
}

/** Every `$ref` in `args`, with where it sits (dotted, under `at`). */
export function refsIn(args: unknown, at: string): { ref: string; field: string }[] {
  const out: { ref: string; field: string }[] = [];
  const walk = (v: unknown, field: string) => {
    const ref = refOf(v);
    if (ref !== undefined) out.push({ ref, field });
    else if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(x, `${field}.${i}`);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${field}.${k}`);
  };
  walk(args, at);
  return out;
}

/** The issue of one ref given the ids of the steps before it and of all steps (as registration says it). */
export function refIssue(
  ref: string,
  field: string,
  earlier: ReadonlySet<string>,
  all: ReadonlySet<string>,
): FieldIssue | undefined {
  const m = REF.exec(ref);
  if (!m)
    return { field, message: `$ref must be input.<path> or steps.<id>.result.<path>, not ${JSON.stringify(ref)}` };
  const head = m[1] as string;
  if (head === "input") return undefined;
  const step = head.split(".")[1] as string;
  if (earlier.has(step)) return undefined;
  return {
    field,
    message: all.has(step)
      ? `$ref names step ${step}, which does not run before this one`
      : `$ref names step ${step}, which this workflow does not have`,
  };
}

function walkPath(root: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur && typeof cur === "object" && !Array.isArray(cur) && Object.hasOwn(cur, seg))
      cur = (cur as Record<string, unknown>)[seg];
    else return { found: false };
  }
  return { found: true, value: cur };
}

/**
 * `args` with every `input.*` ref replaced by what it names in `input`. `later` when some ref
 * names an earlier step's result (known only when the run gets there), `unresolved` when an
 * input ref names nothing (the step would fail with workflows.unresolved_ref).
 */
export function resolveInput(
  args: unknown,
  input: unknown,
): { state: "resolved"; args: unknown } | { state: "later" | "unresolved" } {
  let later = false;
  let unresolved = false;
  const walk = (v: unknown): unknown => {
    const ref = refOf(v);
    if (ref !== undefined) {
      const m = REF.exec(ref);
      if (m?.[1] !== "input") {
        later = true;
        return v;
      }
      const hit = walkPath(
        input,
        (m[2] ?? "").split(".").filter((s) => s !== ""),
      );
      if (!hit.found) unresolved = true;
      return hit.value;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const resolved = walk(args);
  if (unresolved) return { state: "unresolved" };
  if (later) return { state: "later" };
  return { state: "resolved", args: resolved };
}
