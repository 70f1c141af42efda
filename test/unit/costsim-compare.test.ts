/**
 * V1 against V2 (core/costsim/compare.ts): hashes of canonical JSON that do not depend on key
 * order, the drift score, verdicts at and around the seed's thresholds (passed in), V2's errors
 * and schema errors as `v2_error`, and the shadow run that always returns V1.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as Costsim from "../../core/costsim/index.ts";

const T = { drift: 0.2, warning: 0.15 };
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

const embedLater = Costsim.planOf({
  workflow: {
    steps: [
      { id: "get", skill: "kv_store", args: { op: "get", key: "texts" } },
      { id: "embed", skill: "voyage_embed", args: { input: { $ref: "steps.get.result.value" } } },
    ],
  },
});
const voyageHistory = {
  skill_metrics: [
    {
      skill_name: "voyage_embed",
      calls: 500,
      failures: 0,
      duration_p50_ms: 700,
      duration_p95_ms: 3000,
      units_per_call: 16,
    },
  ],
};

describe("hashes", () => {
  it("are SHA-256 of the canonical JSON, whatever the key order", () => {
    const a = { b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } };
    const b = JSON.parse('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(Costsim.hashOf(a)).toBe(Costsim.hashOf(b));
    expect(Costsim.hashOf(a)).toBe(sha('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}'));
    expect(Costsim.hashOf({ ...a, b: 2 })).not.toBe(Costsim.hashOf(a));
    expect(Costsim.hashOf({ x: [1, 2] })).not.toBe(Costsim.hashOf({ x: [2, 1] }));
  });

  it("name the same input and outputs for the same plan however its body was written", () => {
    const body = { job: { task: "kv_store", parallelism: 5, items: [{ input: { key: "k", op: "get" } }] } };
    const reordered = JSON.parse(
      '{"job":{"items":[{"input":{"op":"get","key":"k"}}],"parallelism":5,"task":"kv_store"}}',
    );
    const [x, y] = [body, reordered].map((b) => Costsim.shadow(Costsim.planOf(b), {}, T).comparison);
    expect(x?.input_hash).toBe(y?.input_hash);
    expect(x?.v1_output_hash).toBe(y?.v1_output_hash);
    expect(x?.v2_output_hash).toBe(y?.v2_output_hash);
    const other = Costsim.shadow(Costsim.planOf({ job: { ...body.job, parallelism: 6 } }), {}, T).comparison;
    expect(other.input_hash).not.toBe(x?.input_hash);
    // The feasibility options are part of the input.
    expect(Costsim.shadow(Costsim.planOf(body), {}, T, { budget: 9 }).comparison.input_hash).not.toBe(x?.input_hash);
  });
});

describe("drift score and verdict", () => {
  const est = { credits: 100, duration_ms: 1000, p_failure: 0.1 };

  it("scores 0 for equal estimates and weighs credits, duration and failure", () => {
    expect(Costsim.driftScore(est, { ...est })).toBe(0);
    expect(Costsim.driftScore(est, { ...est, credits: 80 })).toBe(0.12); // 0.6 x 0.2
    expect(Costsim.driftScore(est, { ...est, duration_ms: 0 })).toBe(0.25);
    expect(Costsim.driftScore(est, { ...est, p_failure: 0.3 })).toBe(0.03); // 0.15 x 0.2
    expect(Costsim.driftScore(est, { credits: 0, duration_ms: 0, p_failure: 1.1 })).toBe(1);
    expect(Costsim.driftScore(est, { ...est, credits: 125 })).toBe(Costsim.driftScore({ ...est, credits: 125 }, est));
  });

  it("names the verdict at and around the thresholds (a score equal to one is below it)", () => {
    const cases: Array<[number, Costsim.Verdict]> = [
      [0, "match"],
      [0.1499, "match"],
      [0.15, "match"],
      [0.1501, "minor_drift"],
      [0.1999, "minor_drift"],
      [0.2, "minor_drift"],
      [0.2001, "major_drift"],
      [1, "major_drift"],
    ];
    for (const [score, verdict] of cases) expect(Costsim.verdictOf(score, T), String(score)).toBe(verdict);
    // The thresholds are the caller's (COSTSIM_DRIFT_THRESHOLD, COSTSIM_DRIFT_WARNING_THRESHOLD).
    expect(Costsim.verdictOf(0.3, { drift: 0.5, warning: 0.25 })).toBe("minor_drift");
    expect(Costsim.verdictOf(0, T, true)).toBe("mismatch");
  });

  it("drifts a comparison by what V2 sees in the history", () => {
    const v1 = Costsim.simulateV1(embedLater);
    const same = Costsim.compare({ plan: embedLater, history: {}, v1, v2: Costsim.simulateV2(embedLater, {}) }, T);
    expect(same).toMatchObject({ verdict: "match", drift_score: 0, cost_delta: 0, v2_error: null });
    const v2 = Costsim.simulateV2(embedLater, voyageHistory); // 1 + 2.6 against 1 + 1
    const c = Costsim.compare({ plan: embedLater, history: voyageHistory, v1, v2 }, T);
    expect(c).toMatchObject({ v1_credits: 2, v2_credits: 3.6, cost_delta: 1.6 });
    expect(c.drift_score).toBeGreaterThan(0.2);
    expect(c.verdict).toBe("major_drift");
    expect(
      Costsim.compare({ plan: embedLater, history: voyageHistory, v1, v2 }, { drift: 0.9, warning: 0.5 }).verdict,
    ).toBe("match");
  });

  it("is a mismatch when V1 and V2 disagree on feasibility, whatever the score", () => {
    const options = { budget: 3 };
    const v1 = Costsim.simulateV1(embedLater, options);
    const v2 = Costsim.simulateV2(embedLater, voyageHistory, options);
    expect([v1.feasibility.feasible, v2.feasibility.feasible]).toEqual([true, false]);
    const c = Costsim.compare(
      { plan: embedLater, options, history: voyageHistory, v1, v2 },
      { drift: 0.99, warning: 0.98 },
    );
    expect(c.verdict).toBe("mismatch");
  });
});

describe("V2's errors", () => {
  const v1 = Costsim.simulateV1(embedLater);

  it("a V2 that threw is a v2_error with its code", () => {
    const c = Costsim.compare({ plan: embedLater, history: {}, v1, v2: new Costsim.HistoryInvalidError([]) }, T);
    expect(c).toMatchObject({ verdict: "v2_error", drift_score: null, v2_output_hash: null, cost_delta: null });
    expect(c.v2_error?.code).toBe("costsim.invalid_history");
    expect(
      Costsim.compare({ plan: embedLater, history: {}, v1, v2: new TypeError("x is undefined") }, T).v2_error,
    ).toEqual({
      code: "costsim.v2_threw",
      message: "x is undefined",
    });
  });

  it("a V2 reply that is not its schema is a v2_error (a schema error), not a comparison", () => {
    const good = Costsim.simulateV2(embedLater, {});
    for (const bad of [{ ...good, credits: -1 }, { ...good, confidence: 2 }, { ...good, version: "v1" }, null]) {
      const c = Costsim.compare({ plan: embedLater, history: {}, v1, v2: bad }, T);
      expect(c.verdict).toBe("v2_error");
      expect(c.v2_error?.code).toBe("costsim.v2_schema");
    }
  });

  it("the shadow run returns V1's reply whatever V2 does", () => {
    const broken = { skill_metrics: [{ skill_name: "voyage_embed", calls: "many" }] } as never;
    const { reply, comparison } = Costsim.shadow(embedLater, broken, T);
    expect(reply).toEqual(v1);
    expect(comparison).toMatchObject({ verdict: "v2_error", v1_output_hash: Costsim.hashOf(v1) });
    expect(comparison.v2_error?.code).toBe("costsim.invalid_history");
    expect(Costsim.shadow(embedLater, voyageHistory, T).reply).toEqual(v1);
  });
});
