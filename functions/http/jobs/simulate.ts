import * as z from "zod/mini";
import { SimulateReplyV1 } from "../../../core/costsim/index.ts";
import * as Jobs from "../../../core/jobs/index.ts";
import { JobSpawn, SimulateReply } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * The spawn body, executed not at all: estimated credits and duration, warnings and risks, and
 * CostSim V1's estimate of the same body (`costsim`, null for a task spawn would refuse); writes
 * nothing. The reply's `costsim` shape is declared here, not in core/jobs, so that the jobs
 * domain's other Lambdas do not bundle cost simulation's schemas.
 */
export const handler = httpHandler(
  {
    body: JobSpawn,
    response: z.extend(SimulateReply, { costsim: z.nullable(SimulateReplyV1) }),
    errors: { 400: "A bad body or an item input the skill refuses (as spawn)" },
  },
  ({ body }) => Jobs.simulate(body),
);
