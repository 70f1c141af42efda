/**
 * A step's args with the run's input filled in, as far as simulation needs them (the grammar:
 * core/platform/step-refs.ts; test/unit/costsim-plan.test.ts holds this to the same answers as
 * workflows' resolveArgs).
 */
import { parseRef, refOf, walkPath } from "../platform/step-refs.ts";

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
      const parsed = parseRef(ref);
      if (!parsed || parsed.step !== undefined) {
        later = true;
        return v;
      }
      const hit = walkPath(input, parsed.path);
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
