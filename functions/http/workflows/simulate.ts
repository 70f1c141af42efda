import { SimulateReplyV1 } from "../../../core/costsim/index.ts";
import * as Workflows from "../../../core/workflows/index.ts";
import { RunSimulate, WorkflowPath } from "../../../core/workflows/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** CostSim V1's estimate of a run of this workflow with this input: credits, duration, p(failure), feasibility; runs nothing. */
export const handler = httpHandler(
  {
    path: WorkflowPath,
    body: RunSimulate,
    response: SimulateReplyV1,
    errors: {
      400: "A bad body, or costsim.invalid_plan: the input makes a step's args ones its skill refuses",
      404: "workflows.not_found: no such workflow (or version) for this tenant",
    },
  },
  ({ path, body }) => Workflows.simulateRun(path.name, body),
);
