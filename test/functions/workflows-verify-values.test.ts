/**
 * The replay verifier (core/workflows/verify.ts) with args that resolve to a plain value: a step
 * whose whole args are a `$ref` (`{"$ref": "input.args"}`) gets whatever the run's input holds
 * there, a number or a string as well as an object. Checking such args was a TypeError (`in`
 * on a number), so a replay of that run answered 500.
 */
import { describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import * as Workflows from "../../core/workflows/index.ts";

const run = (input: unknown) => ({
  id: "00000000-0000-4000-8000-000000000001",
  status: "failed" as const,
  input,
  next_op_index: 1,
  head_hash: null,
  error: { code: "validation.invalid_input", message: "args refused", op_index: 0 },
});

describe("the verifier with args that resolve to a plain value", () => {
  it.each([5, "text", true, null])(
    "a deterministic step's whole-args $ref resolving to %j gives a verdict, not a throw",
    async (value) => {
      const steps = [{ id: "embed", skill: "voyage_embed", args: { $ref: "input.args" } }];
      const op = {
        op_index: 0,
        step_id: "embed",
        op_type: "voyage_embed",
        skill_version: "1.0.0",
        args: value,
        args_hash: Workflows.hashJson(value),
        result: null,
        result_hash: null,
        status: "failed",
        error_code: "validation.invalid_input",
        transient: false,
        idempotency_key: null,
        credits: 0,
        prev_hash: null,
        hash: "not-checked-here",
      };
      const verdict = await withContext(
        {
          requestId: "test",
          correlationId: "test",
          actor: { type: "system", name: "test", tenantId: "00000000-0000-4000-8000-000000000002" },
        },
        () => Workflows.verifyOps(run({ args: value }) as never, steps as never, [op] as never),
      );
      expect(verdict.ops_total).toBe(1);
      // Only the made-up row hash and head differ: the op itself (args re-derived, re-run refused alike) matches.
      expect(verdict.mismatches.flatMap((m) => m.diff.map((d) => d.path))).toEqual(["/ops/0/hash", "/ops/0/head_hash"]);
    },
  );
});
