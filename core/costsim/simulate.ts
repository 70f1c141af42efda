/**
 * The simulate routes' work: `simulate` answers V1 (production) for a plan of the caller's tenant
 * against its available credits and a budget; with COSTSIM_V2_SANDBOX it also writes a shadow
 * request so that V2 runs on the same plan later (shadow-requests.ts): the write overlaps V1's
 * work, the reply never waits for SQS nor sees an error of the shadow. `simulateCandidate` runs V2 alone (the
 * operator route), with the history its caller read.
 */
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import { inBackground } from "../platform/background.ts";
import { clock } from "../platform/clock.ts";
import type { HistoryReader, ShadowMessage, SimulateRequest } from "./api-schema.ts";
import { v2EnabledCached } from "./breaker-state.ts";
import { PlanInvalidError } from "./errors.ts";
import type { FeasibilityOptions } from "./estimate.ts";
import { costsimMetrics as m } from "./metrics.ts";
import { type PlanOptions, planOf } from "./plan.ts";
import type { Plan, SimulateReplyV1, SimulateReplyV2 } from "./schema.ts";
import { storeRequest } from "./shadow-requests.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";

/** The settings a plan is read with: the caps a spawn or a run would meet. */
export function planOptions(): PlanOptions {
  const c = config();
  return { maxParallelism: c.jobs.maxParallelism, stepMaxAttempts: c.workflows.stepMaxAttempts };
}

/** 'workflow:<name>@<version>' | 'job:<task>' | 'inline', when the caller named none. */
export function planRefOf(plan: Plan, given?: string): string {
  if (given) return given;
  if (plan.kind === "job") return `job:${plan.name}`;
  return plan.name ? `workflow:${plan.name}` : "inline";
}

/** The skills a plan calls, sorted, once each (`external` for an agents' job). */
export const skillsOf = (plan: Plan): string[] => [...new Set(plan.steps.map((s) => s.skill))].sort();

/** The request's plan; a refusal names its fields where the request holds them (`fieldsAt`). */
function planFor(req: SimulateRequest): Plan {
  try {
    return planOf(req.plan, planOptions());
  } catch (e) {
    if (e instanceof PlanInvalidError && req.fieldsAt) throw e.at(req.fieldsAt);
    throw e;
  }
}

/** The shadow's request stored, unless the drift breaker has V2 disabled (counted as `disabled`). */
async function storeIfEnabled(msg: ShadowMessage): Promise<void> {
  if (await v2EnabledCached()) return storeRequest(msg);
  m.shadowRequests.inc({ outcome: "disabled" });
}

/** The feasibility options of the caller's tenant now: its available credits and the budget. */
export async function feasibilityOptions(budget: number | undefined): Promise<FeasibilityOptions> {
  const { available } = await Credits.balance({});
  return { availableCredits: available, ...(budget === undefined ? {} : { budget }) };
}

/**
 * V1's estimate of a plan for the caller's tenant (its available credits, the budget). A plan
 * that could never run is a 400 (PlanInvalidError naming each field). With the sandbox on, V2
 * runs on the same plan in the shadow: never in this reply, never its latency.
 *
 * @example
 *   await Costsim.simulate({ plan: { job: { task: "kv_store", items } }, budget: 50 });
 *   // { version: "v1", credits: 40, feasibility: { feasible: true, basis: "budget", ... }, ... }
 */
export async function simulate(req: SimulateRequest): Promise<SimulateReplyV1> {
  const plan = planFor(req);
  // The shadow's request is written while the credits are read and V1 computes (shadow-requests.ts):
  // never an SQS call here. It carries the budget; the consumer reads the available credits itself.
  if (config().costsim.v2Sandbox)
    inBackground(
      storeIfEnabled({
        v: 1,
        tenantId: useTenant(),
        plan,
        ...(req.budget === undefined ? {} : { budget: req.budget }),
        planRef: planRefOf(plan, req.planRef),
        skills: skillsOf(plan),
        at: clock().now().toISOString(),
      }),
    );
  const options = await feasibilityOptions(req.budget);
  return simulateV1(plan, options);
}

/**
 * V2's estimate alone, for an operator: calibrated from the tenant's history of the plan's
 * skills, with its confidence and fallbacks.
 *
 * @example
 *   await Costsim.simulateCandidate({ plan }, readHistory); // { version: "v2", confidence: 0.62, ... }
 */
export async function simulateCandidate(req: SimulateRequest, readHistory: HistoryReader): Promise<SimulateReplyV2> {
  const plan = planFor(req);
  const [history, options] = await Promise.all([
    readHistory({ kind: plan.kind, name: plan.name, skills: skillsOf(plan) }),
    feasibilityOptions(req.budget),
  ]);
  return simulateV2(plan, history, options);
}
