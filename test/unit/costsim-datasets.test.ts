/**
 * The reference datasets of M6.5 (core/costsim/datasets/*.json): the seed's five names and sample
 * counts, plans over the registry's real skills, and each one validating with V1 (and V2) at the
 * thresholds its file states; the validation itself shown failing where it must.
 */
import { describe, expect, it } from "vitest";
import * as Costsim from "../../core/costsim/index.ts";
import { skillNames } from "../../core/skills/registry.ts";

const seed = { low_variance: 30, high_variance: 16, mixed_city: 25, noise_injected: 8, historical: 5 };

/** Skills a sample's plan names (steps' skills, a job's task). */
function skillsOf(plan: unknown): string[] {
  const p = plan as { workflow?: { steps: { skill: string }[] }; job?: { task: string } };
  return p.workflow ? p.workflow.steps.map((s) => s.skill) : p.job ? [p.job.task] : [];
}

describe("the reference datasets", () => {
  it("are the seed's five, by name and sample count", () => {
    expect(Costsim.DATASET_NAMES).toEqual(Object.keys(seed));
    for (const d of Costsim.datasets()) {
      expect(d.samples.length, d.name).toBe(seed[d.name]);
      expect(d.sample_count, d.name).toBe(seed[d.name]);
    }
  });

  it("plan with the registry's real skills (the invalid samples excepted), each skill somewhere", () => {
    const known = new Set([...skillNames(), "external"]);
    const used = new Set<string>();
    for (const d of Costsim.datasets())
      for (const s of d.samples) {
        if ("rejected" in s.expected) continue;
        for (const skill of skillsOf(s.plan)) {
          expect(known.has(skill), `${s.id}: ${skill}`).toBe(true);
          used.add(skill);
        }
      }
    expect([...used].sort()).toEqual([...known].sort());
  });

  it("noise_injected holds invalid inputs, each expected refused, and valid edge cases", () => {
    const d = Costsim.dataset("noise_injected");
    const refused = d.samples.filter((s) => "rejected" in s.expected);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeLessThan(d.samples.length);
  });

  it("historical samples carry the tenant's history and what the runs really did", () => {
    for (const s of Costsim.dataset("historical").samples) {
      expect(s.history, s.id).toBeDefined();
      expect(s.actual, s.id).toBeDefined();
    }
  });

  it("expect the credits of the cost models (a few worked by hand)", () => {
    const expected = (name: Costsim.DatasetName, id: string) =>
      (Costsim.dataset(name).samples.find((s) => s.id === id)?.expected as { credits?: number } | undefined)?.credits;
    expect(expected("low_variance", "lv-21")).toBe(1.1); // voyage_embed of 1 input
    expect(expected("low_variance", "lv-20")).toBe(10); // 10 kv_store items
    expect(expected("high_variance", "hv-05")).toBe(160); // 64 kv_store items at credits_per_item 2.5
    expect(expected("noise_injected", "ni-07")).toBe(0.0003); // 3 external items at 0.0001
    expect(expected("historical", "hs-01")).toBe(156); // 60 items of 16 inputs: 60 x 2.6
  });
});

describe("validateDataset", () => {
  for (const name of Object.keys(seed) as Costsim.DatasetName[]) {
    it(`${name} validates with V1, and with V2`, () => {
      for (const [label, estimator] of [
        ["v1", Costsim.v1Estimator],
        ["v2", Costsim.v2Estimator],
      ] as const) {
        const r = Costsim.validateDataset(Costsim.dataset(name), estimator);
        expect(r.misses, `${label}: ${JSON.stringify(r.misses)}`).toEqual([]);
        expect(r, label).toMatchObject({
          name,
          sample_count: seed[name],
          insufficient_data: false,
          cost_median_abs_error: 0,
          cost_max_abs_error: 0,
          kl_divergence: 0,
          passed: true,
        });
      }
    });
  }

  it("measures against actual outcomes, where V2 with the tenant's history is the closer on duration", () => {
    const d = Costsim.dataset("historical");
    const v1 = Costsim.validateDataset(d, Costsim.v1Estimator).against_actual;
    const v2 = Costsim.validateDataset(d, Costsim.v2Estimator).against_actual;
    expect(v1?.samples).toBe(5);
    expect(v2?.duration_median_abs_error_ms).toBeLessThan(v1?.duration_median_abs_error_ms as number);
  });

  it("fails an estimator a ten-thousandth of a credit off, naming the samples", () => {
    const off: Costsim.Estimator = (plan) => {
      const r = Costsim.simulateV1(plan);
      return { credits: r.credits + 0.0001, duration_ms: r.duration_ms };
    };
    for (const d of Costsim.datasets()) {
      const r = Costsim.validateDataset(d, off);
      expect(r.passed, d.name).toBe(false);
      expect(r.checks.cost_max_abs_error).toEqual({ value: 0.0001, limit: 0, passed: false });
      expect(r.misses.length).toBe(r.valid_count);
    }
  });

  it("fails durations far outside their ranges, and an estimator that throws", () => {
    const slow: Costsim.Estimator = (plan) => {
      const r = Costsim.simulateV1(plan);
      return { credits: r.credits, duration_ms: r.duration_ms * 1000 };
    };
    const r = Costsim.validateDataset(Costsim.dataset("mixed_city"), slow);
    expect(r.checks.duration_in_range?.passed).toBe(false);
    expect(r.passed).toBe(false);
    const throws: Costsim.Estimator = () => {
      throw new Error("boom");
    };
    const t = Costsim.validateDataset(Costsim.dataset("low_variance"), throws);
    expect(t).toMatchObject({ passed: false, checks: { errors: { value: 30, passed: false } } });
  });

  it("fails a refusal that does not come, or comes with another code", () => {
    const d = Costsim.dataset("noise_injected");
    const wrongCode = {
      ...d,
      samples: d.samples.map((s) => ("rejected" in s.expected ? { ...s, expected: { rejected: "other.code" } } : s)),
    };
    const r = Costsim.validateDataset(wrongCode, Costsim.v1Estimator);
    expect(r.rejection_accuracy).toBe(0);
    expect(r.passed).toBe(false);
    const accepted = {
      ...d,
      samples: d.samples.map((s) =>
        "rejected" in s.expected ? s : { ...s, expected: { rejected: "costsim.invalid_plan" } },
      ),
    };
    expect(Costsim.validateDataset(accepted, Costsim.v1Estimator).rejection_accuracy).toBe(0.625); // 5 of 8
  });

  it("is insufficient data, never a pass, with fewer samples than the dataset's minimum", () => {
    const d = Costsim.dataset("low_variance");
    const r = Costsim.validateDataset({ ...d, samples: d.samples.slice(0, 29) }, Costsim.v1Estimator);
    expect(r).toMatchObject({ insufficient_data: true, passed: false });
    expect(Costsim.validateDataset({ ...d, samples: [] }, Costsim.v1Estimator).passed).toBe(false);
  });

  it("refuses a dataset file without the seed's sample count or under another name", () => {
    const d = Costsim.dataset("historical");
    expect(() => Costsim.parseDataset("historical", { ...d, samples: d.samples.slice(1) })).toThrow(
      Costsim.DatasetInvalidError,
    );
    expect(() => Costsim.parseDataset("mixed_city", d)).toThrow(Costsim.DatasetInvalidError);
    expect(() => Costsim.parseDataset("historical", { ...d, thresholds: {} })).toThrow(Costsim.DatasetInvalidError);
    expect(Costsim.parseDataset("historical", JSON.parse(JSON.stringify(d))).samples).toHaveLength(5);
  });
});
