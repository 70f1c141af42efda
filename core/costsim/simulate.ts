/**
 * The simulate routes' work: `simulate` answers V1 (production) for a plan of the caller's tenant
 * against its available credits and a budget; with COSTSIM_V2_SANDBOX it also hands the plan to
 * the CostsimShadow queue so that V2 runs beside it (shadow-run.ts). The send is started and not
 * awaited (core/platform/background: the handler kits finish it before the invocation ends), so
 * the reply never waits for SQS nor sees its errors. `simulateCandidate` runs V2 alone (the
 * operator route), with the history its caller read.
 */
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import { inBackground } from "../platform/background.ts";
import { clock } from "../platform/clock.ts";
import { log } from "../platform/logger.ts";
import { sendMessage } from "../platform/queue.ts";
import type { ShadowMessage, SimulateRequest } from "./api-schema.ts";
import type { FeasibilityOptions } from "./estimate.ts";
import { type PlanOptions, planOf } from "./plan.ts";
import type { HistoryInput, Plan, SimulateReplyV1, SimulateReplyV2 } from "./schema.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";

/** The queue of shadow comparisons (functions/routes/costsim.ts). */
export const SHADOW_QUEUE = "CostsimShadow";

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

async function feasibilityOptions(budget: number | undefined): Promise<FeasibilityOptions> {
  const { available } = await Credits.balance({});
  return { availableCredits: available, ...(budget === undefined ? {} : { budget }) };
}

async function sendShadow(msg: ShadowMessage): Promise<void> {
  // Begin on the next turn of the event loop: the SDK's synchronous part of a send (building and
  // signing the request) runs after the caller has its reply, not before.
  await new Promise((resolve) => setImmediate(resolve));
  try {
    await sendMessage(SHADOW_QUEUE, msg);
  } catch (e) {
    // The caller has its reply; the comparison is lost (AosCostsimShadowBehind shows a gap).
    log.warn("costsim shadow message not sent", { err: e, planRef: msg.planRef });
  }
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
  const plan = planOf(req.plan, planOptions());
  const options = await feasibilityOptions(req.budget);
  const reply = simulateV1(plan, options);
  if (config().costsim.v2Sandbox) {
    inBackground(
      sendShadow({
        v: 1,
        tenantId: useTenant(),
        plan,
        options,
        planRef: planRefOf(plan, req.planRef),
        skills: skillsOf(plan),
        at: clock().now().toISOString(),
      }),
    );
  }
  return reply;
}

/**
 * Reads the tenant's history of a plan's skills (skill_metrics rows, failure shares) and, for a
 * job, of its task (done items' durations). Those rows belong to workflows, jobs and the failure catalog, which import costsim:
 * their reads are passed in by the caller (functions/_lib/costsim-history.ts), never imported here.
 */
export type HistoryReader = (plan: {
  kind: Plan["kind"];
  name: string | null;
  skills: readonly string[];
}) => Promise<HistoryInput>;

/**
 * V2's estimate alone, for an operator: calibrated from the tenant's history of the plan's
 * skills, with its confidence and fallbacks.
 *
 * @example
 *   await Costsim.simulateCandidate({ plan }, readHistory); // { version: "v2", confidence: 0.62, ... }
 */
export async function simulateCandidate(req: SimulateRequest, readHistory: HistoryReader): Promise<SimulateReplyV2> {
  const plan = planOf(req.plan, planOptions());
  const [history, options] = await Promise.all([
    readHistory({ kind: plan.kind, name: plan.name, skills: skillsOf(plan) }),
    feasibilityOptions(req.budget),
  ]);
  return simulateV2(plan, history, options);
}
