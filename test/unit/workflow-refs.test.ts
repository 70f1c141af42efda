/**
 * `$ref` resolution (core/workflows/refs.ts `resolveArgs`), which a step and the replay verifier
 * share: refs to the input and to earlier results, deep paths and array indexes, args without a
 * ref returned as they are (the same object), an unresolvable ref refused, and an own `__proto__`
 * key kept as a key (never the copy's prototype).
 */
import { describe, expect, it } from "vitest";
import { UnresolvedRefError } from "../../core/workflows/errors.ts";
import { resolveArgs } from "../../core/workflows/refs.ts";

const results = new Map<string, unknown>([["get", { value: { items: ["a", "b"] }, found: true }]]);

describe("resolveArgs", () => {
  it("resolves refs to the input and to earlier results, at any depth", () => {
    const args = {
      op: "set",
      key: { $ref: "input.key" },
      value: [{ $ref: "steps.get.result.value.items.1" }, { deep: { $ref: "steps.get.result.found" } }],
    };
    expect(resolveArgs("s", args, { key: "k" }, results)).toEqual({
      op: "set",
      key: "k",
      value: ["b", { deep: true }],
    });
    // The same ref again (parsed once, kept): the same answer.
    expect(resolveArgs("s", { $ref: "steps.get.result.value.items.1" }, {}, results)).toBe("b");
  });

  it("returns args without a ref as they are, the same object", () => {
    const args = { op: "get", key: "k", nested: [1, { a: 2 }] };
    expect(resolveArgs("s", args, {}, results)).toBe(args);
  });

  it("refuses a ref that names nothing", () => {
    for (const ref of ["steps.get.result.nope", "steps.other.result", "input.missing", "nonsense"])
      expect(() => resolveArgs("s", { v: { $ref: ref } }, {}, results)).toThrow(UnresolvedRefError);
  });

  it("keeps an own __proto__ key as a key of the copy, not its prototype", () => {
    const args = JSON.parse('{"__proto__": {"polluted": true}, "a": {"$ref": "input.v"}}');
    const out = resolveArgs("s", args, { v: 5 }, results) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(["__proto__", "a"]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":5}');
  });
});
