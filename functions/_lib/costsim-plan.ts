/**
 * The simulate routes' body as `Costsim.simulate` takes it: a workflow named by the caller is
 * looked up (its latest version, or the one asked; another tenant's is a 404) and simulated as its
 * steps; inline steps and job spawn bodies go as they are. core/costsim cannot import workflows
 * (workflows call costsim), so the lookup is the transport's.
 */
import type { SimulateBody, SimulateRequest } from "../../core/costsim/index.ts";
import * as Workflows from "../../core/workflows/index.ts";

export async function simulateRequestOf(body: SimulateBody): Promise<SimulateRequest> {
  const { plan, input, budget } = body;
  // A refusal names the fields where this body holds them: body.plan.workflow..., body.plan.job...
  const fieldsAt = ["plan", "body.plan"] as const;
  if ("job" in plan) return { plan: { job: plan.job }, budget, fieldsAt };
  if ("steps" in plan.workflow)
    return {
      plan: { workflow: plan.workflow, input: input ?? {} },
      planRef: plan.workflow.name ? `workflow:${plan.workflow.name}` : "inline",
      budget,
      fieldsAt,
    };
  return Workflows.simulateRequest(plan.workflow.name, { input, version: plan.workflow.version, budget });
}
