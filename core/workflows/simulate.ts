/**
 * `POST /api/v1/workflows/{name}/simulate`: what a run of a registered workflow with this input
 * would cost, take and risk, before anything runs: CostSim V1 (production) over the definition's
 * steps, against the tenant's available credits and an optional budget. The plan is the one a run
 * of the same version and input reserves (`estimateRun`: the same plan, the same plan_hash), so
 * a run that follows records its actual cost next to this simulation. With COSTSIM_V2_SANDBOX on,
 * V2 runs on it in the shadow. Writes nothing of its own.
 */
import { useTenant } from "../context.ts";
import * as Costsim from "../costsim/index.ts";
import { definition } from "./definitions.ts";
import type { RunSimulate } from "./schema.ts";

/**
 * The simulate request of a run of workflow `name` (latest version, or `version`) with `input`:
 * its definition's steps as the plan, `workflow:<name>@<version>` as its ref; 404 for another
 * tenant's. The costsim routes' plan by name is read here too.
 */
export async function simulateRequest(
  name: string,
  body: { input?: Record<string, unknown>; version?: number | undefined; budget?: number | undefined },
): Promise<Costsim.SimulateRequest> {
  const row = await definition(useTenant(), name, body.version);
  return {
    plan: { workflow: { name: row.name, steps: row.steps }, input: body.input ?? {} },
    ...(body.budget === undefined ? {} : { budget: body.budget }),
    planRef: `workflow:${row.name}@${row.version}`,
  };
}

/** V1's estimate of a run of workflow `name` (latest version, or `version`) with `input`; 404 for another tenant's. */
export async function simulateRun(name: string, body: RunSimulate): Promise<Costsim.SimulateReplyV1> {
  return Costsim.simulate(await simulateRequest(name, body));
}
