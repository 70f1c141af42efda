/**
 * `$ref`s in a step's args: `{"$ref": "input.channel"}` names the run's input,
 * `{"$ref": "steps.fetch.result.value"}` an EARLIER step's result. Checked at registration (an
 * unknown or later step is a 400), resolved when the step runs and when a replay re-derives its
 * args, by the same function, so both derive the same args from the same recorded results.
 */
import type { FieldIssue } from "../errors.ts";
import { UnresolvedRefError } from "./errors.ts";

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

/** The issues of one ref of step `index` given the ids of the steps before it. */
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

/** A ref taken apart: the step it names (none: the input) and the path below. */
interface ParsedRef {
  step: string | undefined;
  path: string[];
}

/** Refs taken apart once per process (a replay resolves the same ones op after op); at most this many kept. */
const MAX_PARSED = 4096;
const parsedRefs = new Map<string, ParsedRef | null>();

function parseRef(ref: string): ParsedRef | null {
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

function walkPath(root: unknown, path: string[]): { found: boolean; value?: unknown } {
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
