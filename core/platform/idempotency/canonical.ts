/**
 * Canonical JSON and its SHA-256: equal requests hash equally whatever their key order. The
 * idempotency records compare `hashArgs`; the workflow audit log hashes args, results and ops
 * with it.
 */
import { hash } from "node:crypto";

/**
 * JSON with object keys sorted, so equal args hash equally whatever their key order. Written as
 * loops (no filter/map/join per object): the replay verifier and the jobs path run it per op.
 * Its text must never change (stored hashes and idempotency records depend on it):
 * test/unit/canonical-json.test.ts holds it to the first version's output.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ",";
      if (i in v) s += canonicalJson(v[i]); // a hole stays empty, as Array.prototype.join left it
    }
    return `${s}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let s = "{";
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    if (s.length > 1) s += ",";
    s += `${JSON.stringify(k)}:${canonicalJson(x)}`;
  }
  return `${s}}`;
}

/**
 * SHA-256 of the canonical JSON: what `begin` compares to tell the same request from another.
 * `crypto.hash` (one shot, Node >= 20.12) is several times faster than createHash on short texts.
 */
export const hashArgs = (args: unknown): string => hash("sha256", canonicalJson(args));
