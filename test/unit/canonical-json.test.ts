/**
 * canonicalJson and the hashes over it are stored (idempotency records, workflow_ops' args_hash,
 * result_hash and hash): a faster rewrite must give the first version's text byte for byte, and
 * the audit log's row hash (built without sorting keys) must stay the hash of the canonical JSON
 * of its fields.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, hashArgs } from "../../core/platform/idempotency/index.ts";
import { hashJson, opHash } from "../../core/workflows/audit.ts";

/** The first version, kept here as the reference. */
function reference(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(reference).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

// biome-ignore lint/suspicious/noSparseArray: a hole is one of the cases the text must keep
const sparse = [1, , 3];
const corpus: unknown[] = [
  null,
  undefined,
  0,
  -0,
  1.5e300,
  Number.NaN,
  "",
  'quote " and \\ and \u2028 and é and 😀',
  true,
  [],
  {},
  [undefined, null, () => 1, { a: undefined }],
  sparse,
  { b: 1, a: 2, ab: [3, { z: 1, y: [2, { x: null }] }], B: "upper", é: "accent", "": "empty" },
  { op: "set", key: "k1", value: { deep: [1, 2] } },
  { when: new Date(0), fn: () => 1, u: undefined },
  Object.assign(Object.create(null), { z: 1, a: 2 }),
  Array.from({ length: 50 }, (_, i) => ({ [`k${(i * 7) % 13}`]: i, i })),
];

describe("canonicalJson", () => {
  it("gives the first version's text for every value of the corpus", () => {
    for (const v of corpus) expect(canonicalJson(v), reference(v)).toBe(reference(v));
  });

  it("hashArgs is SHA-256 (hex) of that text", () => {
    for (const v of corpus) expect(hashArgs(v)).toBe(createHash("sha256").update(reference(v)).digest("hex"));
  });

  it("sorts keys, so key order does not change the hash; a changed value does", () => {
    expect(hashArgs({ a: 1, b: [1, 2] })).toBe(hashArgs({ b: [1, 2], a: 1 }));
    expect(hashArgs({ a: 1, b: [1, 2] })).not.toBe(hashArgs({ a: 1, b: [2, 1] }));
  });
});

describe("opHash", () => {
  const fields = {
    run: "6f1c1a52-3f5a-4a8e-9d6e-3f0b1c2d3e4f",
    op_index: 7,
    step_id: "send",
    op_type: "webhook_send",
    skill_version: "1.0.0",
    args_hash: "a".repeat(64),
    result_hash: null,
    status: "failed",
    error_code: "skills.upstream_error",
    transient: false,
    idempotency_key: "wf:x:7",
    credits: 0.25,
    prev_hash: "b".repeat(64),
  };

  it("is the hash of the canonical JSON of the op's hashed fields", () => {
    expect(opHash(fields)).toBe(hashJson(fields));
    expect(opHash({ ...fields, skill_version: null, prev_hash: null, credits: 0 })).toBe(
      hashJson({ ...fields, skill_version: null, prev_hash: null, credits: 0 }),
    );
  });

  it("is that hash for fields that are not plain JSON scalars too (an undefined one left out, an object's keys sorted)", () => {
    const odd = {
      ...fields,
      credits: { b: 1, a: [2, { d: 3, c: 4 }] },
      error_code: undefined,
    } as unknown as typeof fields;
    expect(opHash(odd)).toBe(hashJson(odd));
    expect(opHash(odd)).not.toBe(opHash(fields));
  });

  it("changes with every field it covers", () => {
    const base = opHash(fields);
    for (const [k, v] of Object.entries({ op_index: 8, status: "succeeded", credits: 0.5, transient: true, run: "r" }))
      expect(opHash({ ...fields, [k]: v }), k).not.toBe(base);
  });
});
