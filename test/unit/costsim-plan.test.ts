/**
 * Cost simulation's plan (core/costsim/plan.ts): a workflow or a job spawn body as one plan,
 * priced by the skills' cost models exactly, the same figures a run reserves (workflows'
 * estimateRun) and a spawn holds (jobs' priceItems); a plan that could never run refused naming
 * its fields; the `$ref` grammar the same as workflows'.
 */
import { describe, expect, it } from "vitest";
import * as Costsim from "../../core/costsim/index.ts";
import { resolveInput } from "../../core/costsim/refs.ts";
import { priceItems } from "../../core/jobs/price.ts";
import * as Skills from "../../core/skills/index.ts";
import { UnresolvedRefError } from "../../core/workflows/errors.ts";
import { resolveArgs } from "../../core/workflows/refs.ts";
import { estimateRun } from "../../core/workflows/start.ts";

const texts = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

function refusal(raw: unknown): { code: string; fields: string[] } {
  try {
    Costsim.planOf(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(Costsim.PlanInvalidError);
    const err = e as Costsim.PlanInvalidError;
    return { code: err.code, fields: (err.details as { fields: { field: string }[] }).fields.map((f) => f.field) };
  }
  throw new Error("the plan was accepted");
}

describe("planOf: a workflow", () => {
  it("prices each step by its skill's cost model: voyage_embed 1 + 0.1 per input, the others 1 per call", () => {
    const plan = Costsim.planOf({
      workflow: {
        steps: [
          { id: "embed", skill: "voyage_embed", args: { input: texts(3) } },
          { id: "count", skill: "kv_store", args: { op: "incr", key: "n" } },
          { id: "hook", skill: "webhook_send", args: { url: "https://example.com/h", payload: {} } },
          { id: "tell", skill: "slack_send", args: { text: "done" } },
        ],
      },
    });
    expect(plan.steps.map((s) => [s.id, s.credits, s.units, s.args])).toEqual([
      ["embed", 1.3, 3, "known"],
      ["count", 1, 1, "known"],
      ["hook", 1, 1, "known"],
      ["tell", 1, 1, "known"],
    ]);
    expect(Costsim.simulateV1(plan).credits).toBe(4.3);
  });

  it("fills input refs; a step fed by an earlier result is priced at its base with units unknown", () => {
    const plan = Costsim.planOf({
      workflow: {
        steps: [
          { id: "q", skill: "voyage_embed", args: { input: { $ref: "input.docs" } } },
          { id: "get", skill: "kv_store", args: { op: "get", key: "texts" } },
          { id: "later", skill: "voyage_embed", args: { input: { $ref: "steps.get.result.value" } } },
          { id: "say", skill: "slack_send", args: { text: { $ref: "steps.get.result.value" } } },
        ],
      },
      input: { docs: texts(21) },
    });
    const by = Object.fromEntries(plan.steps.map((s) => [s.id, s]));
    expect(by.q).toMatchObject({ credits: 3.1, units: 21, args: "known" });
    expect(by.later).toMatchObject({ credits: 1, units: null, args: "later" });
    // A per-call skill costs the same whatever its args: its units are known (1 per call).
    expect(by.say).toMatchObject({ credits: 1, units: 1, args: "later" });
  });

  it("marks args the run would fail on: an input ref naming nothing, input values the skill refuses", () => {
    const plan = Costsim.planOf({
      workflow: {
        steps: [
          { id: "a", skill: "slack_send", args: { text: { $ref: "input.missing" } } },
          { id: "b", skill: "voyage_embed", args: { input: { $ref: "input.notalist" } } },
        ],
      },
      input: { notalist: 42 },
    });
    expect(plan.steps.map((s) => [s.args, s.credits])).toEqual([
      ["unresolved", 1],
      ["invalid", 1],
    ]);
  });

  it("is what workflows' estimateRun reserves for a run, and a fork's from its fork point", () => {
    const steps = [
      { id: "a", skill: "voyage_embed", args: { input: { $ref: "input.docs" } } },
      { id: "b", skill: "voyage_embed", args: { input: texts(7), input_type: "query" as const } },
      { id: "c", skill: "kv_store", args: { op: "set", key: "k", value: { $ref: "steps.a.result.model" } } },
      { id: "d", skill: "voyage_embed", args: { input: { $ref: "steps.c.result.value" } } },
      { id: "e", skill: "slack_send", args: { text: { $ref: "input.nothing" } } },
    ];
    const input = { docs: texts(33) };
    const estimate = estimateRun("w", steps, input);
    // 1 + 3.3 (33 inputs) + 1.7 (7 inputs) + kv_store 1 + base 1 (units later) + base 1 (unresolved).
    expect(estimate.credits).toBe(9);
    const v1 = Costsim.simulateV1(Costsim.planOf({ workflow: { steps }, input }));
    expect(estimate).toMatchObject({ version: "v1", from_op_index: 0, credits: v1.credits, p_failure: v1.p_failure });
    expect(estimate.duration_ms).toBe(v1.duration_ms);
    // A fork from step c reserves c, d and e only: 1 + 1 + 1.
    const fork = estimateRun("w", steps, input, 2);
    expect([fork.credits, fork.from_op_index]).toEqual([3, 2]);
    expect(fork.duration_ms).toBe(v1.steps.slice(2).reduce((t, e) => t + e.duration_ms, 0));
    // The same plan hashes the same whatever the key order of its input; another input does not.
    expect(estimateRun("w", steps, { docs: texts(33) }).plan_hash).toBe(estimate.plan_hash);
    expect(estimateRun("w", steps, { docs: texts(32) }).plan_hash).not.toBe(estimate.plan_hash);
  });

  it("refuses what registration refuses, naming each field", () => {
    expect(refusal({ workflow: { steps: [{ id: "x", skill: "teleport" }] } })).toEqual({
      code: "costsim.invalid_plan",
      fields: ["plan.workflow.steps.0.skill"],
    });
    expect(refusal({ workflow: { steps: [{ id: "kv", skill: "kv_store", args: { op: "get" } }] } }).fields).toEqual([
      "plan.workflow.steps.0.args.key",
    ]);
    const later = refusal({
      workflow: {
        steps: [
          { id: "a", skill: "slack_send", args: { text: { $ref: "steps.b.result.value" } } },
          { id: "b", skill: "kv_store", args: { op: "get", key: "k" } },
          { id: "b", skill: "kv_store", args: { op: "get", key: "k" } },
        ],
      },
    });
    expect(later.fields).toEqual(["plan.workflow.steps.0.args.text", "plan.workflow.steps.2.id"]);
    expect(refusal({ workflow: { steps: [] } }).fields).toEqual(["plan.workflow.steps"]);
    expect(refusal({ neither: true }).code).toBe("costsim.invalid_plan");
  });

  it("accepts a literal field a $ref fills (known only when the step runs)", () => {
    const plan = Costsim.planOf({
      workflow: { steps: [{ id: "kv", skill: "kv_store", args: { op: "get", key: { $ref: "input.key" } } }] },
      input: { key: "k" },
    });
    expect(plan.steps[0]?.args).toBe("known");
  });
});

describe("planOf: a job spawn body", () => {
  const embedItems = [1, 3, 5, 8, 100].map((n) => ({ input: { input: texts(n) } }));

  it("prices each item at least credits_per_item, as priceItems does for spawn", () => {
    for (const credits_per_item of [1, 1.5, 2.25, 0.0001]) {
      const plan = Costsim.planOf({ job: { task: "voyage_embed", items: embedItems, credits_per_item } });
      const parsed = embedItems.map((i) => Skills.validateArgs("voyage_embed", i.input));
      const spawn = priceItems("voyage_embed", parsed, credits_per_item, embedItems.length).total;
      expect(plan.steps[0]?.credits, `credits_per_item ${credits_per_item}`).toBe(spawn);
    }
    // 1.1 + 1.3 + 1.5 + 1.8 + 11 by the model; with a floor of 1.5: 1.5 + 1.5 + 1.5 + 1.8 + 11.
    expect(Costsim.planOf({ job: { task: "voyage_embed", items: embedItems } }).steps[0]?.credits).toBe(16.7);
    expect(
      Costsim.planOf({ job: { task: "voyage_embed", items: embedItems, credits_per_item: 1.5 } }).steps[0]?.credits,
    ).toBe(17.3);
  });

  it("prices an external item at exactly credits_per_item and caps parallelism at the limit given", () => {
    const plan = Costsim.planOf(
      {
        job: {
          task: "external",
          items: [{ input: 1 }, { input: 2 }, { input: 3 }],
          credits_per_item: 2.5,
          parallelism: 50,
        },
      },
      { maxParallelism: 2 },
    );
    expect(plan).toMatchObject({ kind: "job", parallelism: 2, parallelism_asked: 50 });
    expect(plan.steps[0]).toMatchObject({ skill: "external", calls: 3, credits: 7.5, external: true });
    expect(Costsim.simulateV1(plan).warnings.map((w) => w.code)).toContain("jobs.parallelism_above_limit");
  });

  it("refuses an unknown task and items the skill refuses (at most 20 fields, and how many)", () => {
    expect(refusal({ job: { task: "mine_bitcoin", items: [{ input: {} }] } }).fields).toEqual(["plan.job.task"]);
    const bad = Array.from({ length: 30 }, () => ({ input: { op: "get" } }));
    const r = refusal({ job: { task: "kv_store", items: [{ input: { op: "get", key: "ok" } }, ...bad] } });
    expect(r.fields).toHaveLength(21);
    expect(r.fields[0]).toBe("plan.job.items.1.input.key");
    expect(r.fields.at(-1)).toBe("plan.job.items");
  });
});

describe("the $ref grammar is workflows' own", () => {
  const input = { key: "k", list: ["a", "b"], deep: { x: { y: 3 } }, nul: null };
  const cases: unknown[] = [
    { $ref: "input.key" },
    { a: { $ref: "input.list.1" }, b: [{ $ref: "input.deep.x.y" }], c: { $ref: "input.nul" } },
    { a: { $ref: "input.list.2" } },
    { a: { $ref: "input.deep.nope" } },
    { a: { $ref: "input" } },
    { a: { $ref: "input.key", extra: 1 } },
    { a: [1, { b: "plain" }] },
  ];

  it("resolves input refs as resolveArgs does, and fails where it fails", () => {
    for (const args of cases) {
      let reference: { ok: true; value: unknown } | { ok: false };
      try {
        reference = { ok: true, value: resolveArgs("s", args, input, new Map()) };
      } catch (e) {
        expect(e).toBeInstanceOf(UnresolvedRefError);
        reference = { ok: false };
      }
      const mine = resolveInput(args, input);
      if (reference.ok) expect(mine, JSON.stringify(args)).toEqual({ state: "resolved", args: reference.value });
      else expect(mine.state, JSON.stringify(args)).toBe("unresolved");
    }
  });

  it("calls a step ref `later`, where resolveArgs needs the earlier result", () => {
    expect(resolveInput({ a: { $ref: "steps.get.result.value" } }, input).state).toBe("later");
    expect(
      resolveArgs("s", { a: { $ref: "steps.get.result.value" } }, input, new Map([["get", { value: 1 }]])),
    ).toEqual({ a: 1 });
  });
});
