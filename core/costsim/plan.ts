/**
 * `planOf`: a workflow (inline steps and the run's input) or a job spawn body, as one plan shape
 * both estimators read. What the cost models price is fixed here, by the skills' own functions
 * (Skills.cost, Skills.units), so V1's credits are what a run would reserve (workflows'
 * estimateRun: a step whose args are not known before the run at its skill's base) and what a
 * spawn would hold (jobs' priceItems: each item at least `credits_per_item`).
 *
 * A plan that could never run is refused (PlanInvalidError naming every bad field), as
 * registration or spawn would refuse it: an unknown skill or task, a `$ref` to a later or missing
 * step, literal args the skill refuses, an item input the skill refuses.
 *
 * Workflows reserve what this file prices (their estimateRun is V1 over planOf). Jobs' priceItems
 * still prices a spawn's hold the same way on its own (test/unit/costsim-plan.test.ts holds the
 * two equal).
 */
import { safeParse } from "zod/mini";
import { AppError, type FieldIssue, fieldIssues, ValidationError } from "../errors.ts";
import { refIssue, refsIn } from "../platform/step-refs.ts";
import * as Skills from "../skills/index.ts";
import { PlanInvalidError } from "./errors.ts";
import { DEFAULT_STEP_MAX_ATTEMPTS, EXTERNAL_TASK } from "./priors.ts";
import { resolveInput } from "./refs.ts";
import {
  type ArgsState,
  type JobPlanInput,
  type Plan,
  PlanInput,
  type PlanStep,
  type WorkflowPlanInput,
} from "./schema.ts";

/** What the caller knows of the configuration (the model reads none itself). */
export interface PlanOptions {
  /** JOBS_MAX_PARALLELISM: a job's items in flight at once, at most (default: no cap). */
  maxParallelism?: number;
  /** WORKFLOW_STEP_MAX_ATTEMPTS (default 3, the setting's default). */
  stepMaxAttempts?: number;
}

/** A 400 lists at most this many bad item fields (spawn's own limit). */
const MAX_ISSUES = 20;

/** Ten-thousandths of a credit (numeric(18,4)), so sums are exact integers. */
export const toUnits = (n: number) => Math.round(n * 10_000);
export const fromUnits = (u: number) => u / 10_000;

type Spec = ReturnType<typeof Skills.spec>;

function specOf(name: string): Spec | null {
  try {
    return Skills.spec(name);
  } catch (e) {
    if (e instanceof AppError && e.code === "skills.not_found") return null;
    throw e;
  }
}

/** The parsed args, or the issues the skill's schema names under `field`. */
function parseArgs(skill: string, args: unknown, field: string): { args: unknown } | { issues: FieldIssue[] } {
  try {
    return { args: Skills.validateArgs(skill, args, field) };
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return { issues: (e.details as { fields?: FieldIssue[] } | undefined)?.fields ?? [] };
  }
}

const unitCredits = (spec: Spec) => spec.cost.perUnit?.credits ?? 0;

/**
 * The plan of a workflow or a job spawn body; throws PlanInvalidError naming every bad field.
 *
 * @example
 *   Costsim.planOf({ workflow: { steps: [{ id: "embed", skill: "voyage_embed", args: { input: ["a", "b"] } }] } });
 *   // { kind: "workflow", steps: [{ id: "embed", credits: 1.2, units: 2, args: "known", ... }], ... }
 */
export function planOf(raw: unknown, options: PlanOptions = {}): Plan {
  const r = safeParse(PlanInput, raw);
  if (!r.success) throw new PlanInvalidError(fieldIssues("plan", r.error));
  const input = r.data;
  return "workflow" in input ? workflowPlan(input, options) : jobPlan(input.job, options);
}

function workflowPlan(w: WorkflowPlanInput, options: PlanOptions): Plan {
  const issues: FieldIssue[] = [];
  const steps: PlanStep[] = [];
  const all = new Set(w.workflow.steps.map((s) => s.id));
  const earlier = new Set<string>();
  w.workflow.steps.forEach((step, n) => {
    const at = `plan.workflow.steps.${n}`;
    if (earlier.has(step.id)) issues.push({ field: `${at}.id`, message: `step id ${step.id} is used twice` });
    const refs = refsIn(step.args, `${at}.args`);
    for (const ref of refs) {
      const issue = refIssue(ref.ref, ref.field, earlier, all);
      if (issue) issues.push(issue);
    }
    earlier.add(step.id);
    const spec = specOf(step.skill);
    if (!spec) {
      issues.push({ field: `${at}.skill`, message: `no skill is named ${JSON.stringify(step.skill)}` });
      return;
    }
    // Literal args the skill refuses: registration refuses them too. A field a $ref fills is known later.
    const literal = parseArgs(step.skill, step.args, `${at}.args`);
    if ("issues" in literal) {
      const filled = (f: string) => refs.some((x) => f === x.field || f.startsWith(`${x.field}.`));
      for (const f of literal.issues) if (!filled(f.field)) issues.push(f);
    }
    let state: ArgsState;
    let parsed: unknown;
    const resolved = resolveInput(step.args, w.input);
    if (resolved.state !== "resolved") state = resolved.state;
    else {
      const p = parseArgs(step.skill, resolved.args, "args");
      state = "args" in p ? "known" : "invalid";
      parsed = "args" in p ? p.args : undefined;
    }
    const known = state === "known";
    steps.push({
      id: step.id,
      skill: step.skill,
      external: spec.breaker !== undefined,
      side_effects: spec.sideEffects,
      calls: 1,
      units: known ? Skills.units(step.skill, parsed) : spec.cost.perUnit ? null : 1,
      args: state,
      credits: known ? Skills.cost(step.skill, parsed) : spec.cost.base,
      base_credits: spec.cost.base,
      unit_credits: unitCredits(spec),
      floor_credits: 0,
      max_attempts: options.stepMaxAttempts ?? DEFAULT_STEP_MAX_ATTEMPTS,
      timeout_ms: step.timeout_s !== undefined ? step.timeout_s * 1000 : spec.timeoutMs,
    });
  });
  if (issues.length > 0) throw new PlanInvalidError(issues);
  return { kind: "workflow", name: w.workflow.name ?? null, parallelism: 1, parallelism_asked: null, steps };
}

function jobPlan(job: JobPlanInput["job"], options: PlanOptions): Plan {
  const n = job.items.length;
  const cap = options.maxParallelism;
  const parallelism = cap !== undefined ? Math.min(job.parallelism, cap) : job.parallelism;
  const shape = {
    kind: "job" as const,
    name: job.task,
    parallelism,
    parallelism_asked: parallelism < job.parallelism ? job.parallelism : null,
  };
  const floor = toUnits(job.credits_per_item);
  if (job.task === EXTERNAL_TASK) {
    // AOS runs nothing for an external item: it costs exactly credits_per_item (jobs/price.ts).
    const step: PlanStep = {
      id: "items",
      skill: EXTERNAL_TASK,
      external: true,
      side_effects: true,
      calls: n,
      units: n,
      args: "known",
      credits: fromUnits(floor * n),
      base_credits: job.credits_per_item,
      unit_credits: 0,
      floor_credits: job.credits_per_item,
      max_attempts: job.max_attempts,
      timeout_ms: job.item_timeout_s * 1000,
    };
    return { ...shape, steps: [step] };
  }
  const spec = specOf(job.task);
  if (!spec)
    throw new PlanInvalidError([
      {
        field: "plan.job.task",
        message: `no skill is named ${JSON.stringify(job.task)}; a task is a skill's name or "${EXTERNAL_TASK}"`,
      },
    ]);
  const issues: FieldIssue[] = [];
  let refused = 0;
  let credits = 0;
  let units = 0;
  job.items.forEach((item, i) => {
    const p = parseArgs(job.task, item.input, `plan.job.items.${i}.input`);
    if ("issues" in p) {
      refused++;
      if (issues.length < MAX_ISSUES) issues.push(...p.issues.slice(0, MAX_ISSUES - issues.length));
      return;
    }
    credits += Math.max(floor, toUnits(Skills.cost(job.task, p.args)));
    units += Skills.units(job.task, p.args);
  });
  if (refused > 0) {
    if (refused > 1) issues.push({ field: "plan.job.items", message: `${refused} of ${n} items are not valid` });
    throw new PlanInvalidError(issues);
  }
  const step: PlanStep = {
    id: "items",
    skill: job.task,
    external: spec.breaker !== undefined,
    side_effects: spec.sideEffects,
    calls: n,
    units,
    args: "known",
    credits: fromUnits(credits),
    base_credits: spec.cost.base,
    unit_credits: unitCredits(spec),
    floor_credits: job.credits_per_item,
    max_attempts: job.max_attempts,
    timeout_ms: spec.timeoutMs,
  };
  return { ...shape, steps: [step] };
}
