import * as Costsim from "../../../core/costsim/index.ts";
import { SimulateBody, SimulateReplyV2 } from "../../../core/costsim/index.ts";
import { readHistory } from "../../_lib/costsim-history.ts";
import { simulateRequestOf } from "../../_lib/costsim-plan.ts";
import { httpHandler } from "../../_lib/http.ts";

/** V2 alone on a plan, calibrated from the tenant's history (operator). */
export const handler = httpHandler(
  {
    body: SimulateBody,
    response: SimulateReplyV2,
    errors: { 404: "The workflow named does not exist for this tenant" },
  },
  async ({ body }) => Costsim.simulateCandidate(await simulateRequestOf(body), readHistory),
);
