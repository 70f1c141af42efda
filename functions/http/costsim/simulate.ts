import * as Costsim from "../../../core/costsim/index.ts";
import { SimulateBody, SimulateReplyV1 } from "../../../core/costsim/index.ts";
import { simulateRequestOf } from "../../_lib/costsim-plan.ts";
import { httpHandler } from "../../_lib/http.ts";

/** V1's estimate of a plan; with the sandbox on, V2 is compared in the shadow (never in this reply). */
export const handler = httpHandler(
  {
    body: SimulateBody,
    response: SimulateReplyV1,
    errors: { 404: "The workflow named does not exist for this tenant" },
  },
  async ({ body }) => Costsim.simulate(await simulateRequestOf(body)),
);
