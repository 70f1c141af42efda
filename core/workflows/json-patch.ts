/**
 * RFC 6902 JSON Patch between two JSON values: the operations that turn `expected` into `actual`
 * (add, remove, replace; paths are RFC 6901 pointers under `base`). Objects are compared key by
 * key, arrays of equal length index by index; anything else that differs is one `replace`.
 *
 * @example
 *   diff({ a: 1, b: [1, 2] }, { a: 2, b: [1, 2], c: true }); // [{op:"replace",path:"/a",value:2},{op:"add",path:"/c",value:true}]
 */
import { canonicalJson } from "../platform/idempotency/index.ts";

export type PatchOp =
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "replace"; path: string; value: unknown };

/** One RFC 6901 reference token. */
export const pointer = (token: string | number): string => `/${String(token).replace(/~/g, "~0").replace(/\//g, "~1")}`;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

export function diff(expected: unknown, actual: unknown, base = ""): PatchOp[] {
  if (canonicalJson(expected) === canonicalJson(actual)) return [];
  if (isObject(expected) && isObject(actual)) {
    const out: PatchOp[] = [];
    for (const k of Object.keys(expected).sort()) {
      if (expected[k] === undefined) continue;
      if (!(k in actual) || actual[k] === undefined) out.push({ op: "remove", path: base + pointer(k) });
      else out.push(...diff(expected[k], actual[k], base + pointer(k)));
    }
    for (const k of Object.keys(actual).sort())
      if (actual[k] !== undefined && (!(k in expected) || expected[k] === undefined))
        out.push({ op: "add", path: base + pointer(k), value: actual[k] });
    return out;
  }
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length)
    return expected.flatMap((e, i) => diff(e, actual[i], base + pointer(i)));
  return [{ op: "replace", path: base, value: actual === undefined ? null : actual }];
}
