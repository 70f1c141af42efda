/**
 * Cost simulation's estimators: V1 from the cost models and stated priors (the arithmetic checked
 * against figures worked out by hand), V2 from the tenant's history where it is thick enough and
 * V1's priors where it is not (saying so per step), and V2's confidence (0-1, monotone in the
 * samples, lower for complex plans).
 */
import { describe, expect, it } from "vitest";
import * as Costsim from "../../core/costsim/index.ts";
import { skillNames } from "../../core/skills/registry.ts";

const one = (skill: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  Costsim.planOf({ workflow: { steps: [{ id: "s", skill, args, ...extra }] } });
const hook = { url: "https://example.com/h", payload: {} };
const kvJob = (n: number, more: Record<string, unknown> = {}) =>
  Costsim.planOf({
    job: {
      task: "kv_store",
      items: Array.from({ length: n }, (_, i) => ({ input: { op: "incr", key: `k${i}` } })),
      ...more,
    },
  });
const metrics = (skill_name: string, calls: number, more: Record<string, unknown> = {}) => ({
  skill_name,
  calls,
  failures: 0,
  duration_p50_ms: 100,
  duration_p95_ms: 400,
  ...more,
});

describe("V1", () => {
  it("states a prior for every skill of the registry", () => {
    for (const name of skillNames()) expect(Costsim.SKILL_PRIORS[name], name).toBeDefined();
    expect(Costsim.priorOf("external")).toBe(Costsim.EXTERNAL_PRIOR);
    expect(Costsim.priorOf("not_a_skill")).toBe(Costsim.DEFAULT_SKILL_PRIOR);
  });

  it("works out retries and failure as by hand: webhook_send, p 0.03, 70% retryable, 3 attempts", () => {
    const r = Costsim.simulateV1(one("webhook_send", hook));
    // pr = 0.021; attempts E = 1 + 0.021 + 0.021^2 = 1.021441; fails: 0.009 E + 0.021^3.
    expect(r.steps[0]).toMatchObject({ credits: 1, duration_ms: 817, p_failure: 0.0092, expected_retries: 0.0214 });
    expect(r).toMatchObject({ version: "v1", credits: 1, duration_ms: 817, p_failure: 0.0092 });
  });

  it("runs a job's items in waves of its parallelism", () => {
    // 25 items, 10 at once: 3 waves of a 20 ms call; one attempt each: fails with 1 - 0.999^25.
    const r = Costsim.simulateV1(kvJob(25, { parallelism: 10, max_attempts: 1 }));
    expect(r).toMatchObject({ credits: 25, duration_ms: 60, expected_retries: 0, p_failure: 0.0247 });
    expect(Costsim.simulateV1(kvJob(25, { parallelism: 25, max_attempts: 1 })).duration_ms).toBe(20);
  });

  it("adds a workflow's steps and fails when any step fails", () => {
    const plan = Costsim.planOf({
      workflow: {
        steps: [
          { id: "a", skill: "webhook_send", args: hook },
          { id: "b", skill: "webhook_send", args: hook },
        ],
      },
    });
    const r = Costsim.simulateV1(plan);
    expect(r.duration_ms).toBe(2 * 817);
    expect(r.p_failure).toBe(Math.round((1 - (1 - 0.00920223) ** 2) * 10_000) / 10_000);
  });

  it("knows a step that can only fail, and a call that may reach its timeout", () => {
    const doomed = Costsim.simulateV1(one("slack_send", { text: { $ref: "input.none" } }));
    expect(doomed).toMatchObject({ p_failure: 1, expected_retries: 0 });
    expect(doomed.warnings.map((w) => w.code)).toEqual(["costsim.args_unresolved"]);
    expect(doomed.risks.map((w) => w.code)).toContain("costsim.likely_failure");
    const short = Costsim.simulateV1(one("webhook_send", hook, { timeout_s: 1 }));
    expect(short.risks.map((w) => w.code)).toContain("costsim.duration_over_timeout");
    expect(short.duration_p95_ms).toBe(Math.round(1000 * 1.021441));
    const roomy = Costsim.simulateV1(one("webhook_send", hook));
    expect(roomy.risks.map((w) => w.code)).not.toContain("costsim.duration_over_timeout");
  });

  it("decides feasibility against the tighter limit, and says nothing without one", () => {
    const plan = one("voyage_embed", { input: ["a", "b", "c"] }); // 1.3
    expect(Costsim.simulateV1(plan).feasibility).toEqual({
      feasible: null,
      basis: "none",
      limit: null,
      required: 1.3,
      shortfall: 0,
    });
    expect(Costsim.simulateV1(plan, { budget: 1.3 }).feasibility).toMatchObject({ feasible: true, basis: "budget" });
    const short = Costsim.simulateV1(plan, { budget: 5, availableCredits: 1.2 });
    expect(short.feasibility).toMatchObject({
      feasible: false,
      basis: "available_credits",
      limit: 1.2,
      shortfall: 0.1,
    });
    expect(short.warnings.map((w) => w.code)).toEqual(["credits.insufficient"]);
    expect(Costsim.simulateV1(plan, { budget: 1, availableCredits: 9 }).warnings.map((w) => w.code)).toEqual([
      "costsim.over_budget",
    ]);
  });
});

describe("V2", () => {
  it("uses thick history: the skill's durations and failure rate", () => {
    const history = { skill_metrics: [metrics("webhook_send", 600, { failures: 30 }), metrics("webhook_send", 400)] };
    const r = Costsim.simulateV2(one("webhook_send", hook), history);
    const step = r.steps[0];
    expect(step?.basis).toEqual({
      credits: "args",
      duration: "skill_metrics",
      failure: "skill_metrics",
      retry: "prior",
    });
    expect(step?.fallback).toEqual(["retry"]);
    expect(step?.samples).toBe(1000);
    // p = 30 / 1000 = 0.03 as the prior, so the arithmetic is V1's with a 100 ms call.
    expect(step).toMatchObject({ duration_ms: 102, duration_p95_ms: 409, p_failure: 0.0092 });
  });

  it("falls back to V1's priors on thin history, and says so per step", () => {
    const plan = Costsim.planOf({
      workflow: {
        steps: [
          { id: "thick", skill: "kv_store", args: { op: "get", key: "k" } },
          { id: "thin", skill: "webhook_send", args: hook },
        ],
      },
    });
    const history = {
      skill_metrics: [metrics("kv_store", 20, { duration_p50_ms: 3, duration_p95_ms: 9 }), metrics("webhook_send", 19)],
    };
    const v1 = Costsim.simulateV1(plan);
    const r = Costsim.simulateV2(plan, history);
    const [thick, thin] = r.steps;
    expect(thick?.basis.duration).toBe("skill_metrics");
    expect(thick?.duration_ms).toBe(3);
    expect(thin?.basis).toMatchObject({ duration: "prior", failure: "prior" });
    expect(thin?.fallback).toEqual(["duration", "failure", "retry"]);
    expect(thin).toMatchObject({
      duration_ms: v1.steps[1]?.duration_ms,
      p_failure: v1.steps[1]?.p_failure,
      samples: 0,
    });
    expect(r.risks.filter((n) => n.code === "costsim.thin_history").map((n) => n.step)).toEqual(["thin"]);
  });

  it("with no history at all, gives V1's figures", () => {
    const plans = [kvJob(40), one("voyage_embed", { input: ["a", "b"] }), one("slack_send", { text: "x" })];
    for (const plan of plans) {
      const v1 = Costsim.simulateV1(plan);
      const v2 = Costsim.simulateV2(plan, {});
      expect({ ...v2, version: "v1", steps: undefined, confidence: undefined, risks: undefined }).toEqual({
        ...v1,
        steps: undefined,
        risks: undefined,
      });
      expect(v2.confidence).toBe(0);
    }
  });

  it("prefers a job's own item durations, then the skill's calls", () => {
    const history = {
      job_items: [{ task: "kv_store", samples: 50, duration_p50_ms: 40, duration_p95_ms: 90 }],
      skill_metrics: [metrics("kv_store", 5000, { duration_p50_ms: 2, duration_p95_ms: 5 })],
    };
    const r = Costsim.simulateV2(kvJob(10, { parallelism: 10 }), history);
    expect(r.steps[0]?.basis.duration).toBe("job_items");
    expect(r.steps[0]?.duration_ms).toBe(40);
    const noItems = Costsim.simulateV2(kvJob(10, { parallelism: 10 }), { skill_metrics: history.skill_metrics });
    expect(noItems.steps[0]?.basis.duration).toBe("skill_metrics");
    expect(noItems.steps[0]?.duration_ms).toBe(2);
  });

  it("prices units known only later from the units observed per call, thin history at the base", () => {
    const plan = Costsim.planOf({
      workflow: {
        steps: [
          { id: "get", skill: "kv_store", args: { op: "get", key: "texts" } },
          { id: "embed", skill: "voyage_embed", args: { input: { $ref: "steps.get.result.value" } } },
        ],
      },
    });
    const thick = Costsim.simulateV2(plan, { skill_metrics: [metrics("voyage_embed", 500, { units_per_call: 16 })] });
    expect(thick.steps[1]).toMatchObject({ credits: 2.6, basis: { credits: "history" } });
    expect(thick.credits).toBe(3.6);
    const thin = Costsim.simulateV2(plan, { skill_metrics: [metrics("voyage_embed", 10, { units_per_call: 16 })] });
    expect(thin.steps[1]).toMatchObject({ credits: 1, basis: { credits: "prior" } });
    expect(thin.steps[1]?.fallback).toContain("credits");
  });

  it("moves a per-unit skill's observed duration to the units of the step", () => {
    const history = { skill_metrics: [metrics("voyage_embed", 500, { duration_p50_ms: 800, units_per_call: 10 })] };
    const texts = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const r = Costsim.simulateV2(
      Costsim.planOf({ job: { task: "voyage_embed", items: [{ input: { input: texts } }] } }),
      history,
    );
    // 800 ms at 10 inputs; 5 ms per input more (voyage_embed's prior) for 90 more inputs; no failures seen.
    expect(r.steps[0]?.duration_ms).toBe(1250);
  });

  it("takes the retryable share of failures from the failure catalog, the rest at the prior's", () => {
    const base = { skill_metrics: [metrics("webhook_send", 1000, { failures: 100 })] };
    const retryAll = Costsim.simulateV2(one("webhook_send", hook), {
      ...base,
      failures: [{ skill: "webhook_send", catalog_entry_id: "upstream.server_error", rate: 1, is_retryable: true }],
    });
    const retryNone = Costsim.simulateV2(one("webhook_send", hook), {
      ...base,
      failures: [{ skill: "webhook_send", catalog_entry_id: "upstream.rejected", rate: 1, is_retryable: false }],
    });
    expect(retryAll.steps[0]?.basis.retry).toBe("failure_catalog");
    // p 0.1, all retryable, 3 attempts: fails with 0.1^3; none retryable: fails with 0.1.
    expect(retryAll.steps[0]).toMatchObject({ p_failure: 0.001, expected_retries: 0.11 });
    expect(retryNone.steps[0]).toMatchObject({ p_failure: 0.1, expected_retries: 0 });
  });

  it("refuses history of the wrong shape", () => {
    expect(() =>
      Costsim.simulateV2(kvJob(1), { skill_metrics: [{ skill_name: "kv_store", calls: -1 }] } as never),
    ).toThrow(Costsim.HistoryInvalidError);
  });
});

describe("V2's confidence", () => {
  const history = (n: number) => ({ skill_metrics: [metrics("kv_store", n)], job_items: [] });
  const plan = one("kv_store", { op: "get", key: "k" });

  it("is 0 with no history and within 0-1 whatever the samples and the plan", () => {
    expect(Costsim.simulateV2(plan, {}).confidence).toBe(0);
    for (const n of [0, 1, 19, 20, 21, 100, 10_000, 10_000_000])
      for (const p of [plan, kvJob(1000), one("webhook_send", hook)]) {
        const c = Costsim.simulateV2(p, {
          skill_metrics: [metrics("kv_store", n), metrics("webhook_send", n)],
        }).confidence;
        expect(c).toBeGreaterThanOrEqual(0);
        expect(c).toBeLessThanOrEqual(1);
      }
  });

  it("grows with the samples: none below the threshold (the figures are priors), then strictly", () => {
    const sizes = [0, 1, 10, 19, 20, 21, 30, 50, 100, 200, 500, 1000, 5000];
    const cs = sizes.map((n) => Costsim.simulateV2(plan, history(n)).confidence);
    for (let i = 1; i < cs.length; i++) {
      const [n, c, before] = [sizes[i] as number, cs[i] as number, cs[i - 1] as number];
      if (n <= Costsim.MIN_HISTORY_SAMPLES) expect(c, `at ${n}`).toBeGreaterThanOrEqual(before);
      else expect(c, `at ${n}`).toBeGreaterThan(before);
    }
    expect(cs.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(cs[4]).toBe(0.5); // at the threshold: half confidence on a plan of one call inside AOS
  });

  it("is lower for more steps, a wider fan-out and calls that leave AOS", () => {
    const h = { skill_metrics: [metrics("kv_store", 500), metrics("webhook_send", 500)] };
    const simple = Costsim.simulateV2(plan, h).confidence;
    const twoSteps = Costsim.simulateV2(
      Costsim.planOf({
        workflow: {
          steps: [
            { id: "a", skill: "kv_store", args: { op: "get", key: "k" } },
            { id: "b", skill: "kv_store", args: { op: "get", key: "k" } },
          ],
        },
      }),
      h,
    ).confidence;
    const fanOut = Costsim.simulateV2(kvJob(1000), h).confidence;
    const external = Costsim.simulateV2(one("webhook_send", hook), h).confidence;
    for (const c of [twoSteps, fanOut, external]) expect(c).toBeLessThan(simple);
  });
});
