/**
 * Resolving a step's `$ref`s (the grammar: core/platform/step-refs.ts): when the step runs and
 * when a replay re-derives its args, by the same function, so both derive the same args from the
 * same recorded results.
 */
import { parseRef, refOf, walkPath } from "../platform/step-refs.ts";
import { UnresolvedRefError } from "./errors.ts";

/**
 * `args` with every `$ref` replaced by what it names in `input` and `results` (step id -> the
 * recorded result). Throws UnresolvedRefError (not retryable) for a ref that names nothing.
 *
 * @example
 *   resolveArgs("send", { text: { $ref: "steps.get.result.value" } }, {}, { get: { value: "hi" } }); // { text: "hi" }
 */
export function resolveArgs(
  stepId: string,
  args: unknown,
  input: unknown,
  results: ReadonlyMap<string, unknown>,
): unknown {
  const ref = refOf(args);
  if (ref !== undefined) {
    const parsed = parseRef(ref);
    if (!parsed) throw new UnresolvedRefError(stepId, ref);
    let root: unknown;
    if (parsed.step === undefined) root = input;
    else {
      if (!results.has(parsed.step)) throw new UnresolvedRefError(stepId, ref);
      root = results.get(parsed.step);
    }
    const hit = walkPath(root, parsed.path);
    if (!hit.found) throw new UnresolvedRefError(stepId, ref);
    return hit.value;
  }
  // Args without a ref below come back as they are (the same object): no copy per op of a replay.
  if (Array.isArray(args)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < args.length; i++) {
      const x = args[i];
      const v = resolveArgs(stepId, x, input, results);
      if (out) out.push(v);
      else if (v !== x) out = [...args.slice(0, i), v];
    }
    return out ?? args;
  }
  if (args && typeof args === "object") {
    // No entries array per object: only once a value changes is the copy built (the keys after
    // it resolved in order, as before).
    const o = args as Record<string, unknown>;
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) {
      const x = o[keys[i] as string];
      const v = resolveArgs(stepId, x, input, results);
      if (v === x) continue;
      const out: Record<string, unknown> = {};
      for (let j = 0; j < keys.length; j++) {
        const k = keys[j] as string;
        const x2 = j < i ? o[k] : j === i ? v : resolveArgs(stepId, o[k], input, results);
        // An own "__proto__" key stays a key (as Object.fromEntries keeps it), never the prototype.
        if (k === "__proto__")
          Object.defineProperty(out, k, { value: x2, enumerable: true, writable: true, configurable: true });
        else out[k] = x2;
      }
      return out;
    }
    return args;
  }
  return args;
}
