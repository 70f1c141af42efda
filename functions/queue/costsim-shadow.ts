/**
 * The CostsimShadow worker: each record is one V1 simulation to compare with V2
 * (`Costsim.runShadow`): V2 on the plan with the tenant's history, compared, recorded in
 * costsim_provenance (idempotent by input and simulation time), counted. A V2 error is a recorded
 * `v2_error`, not a failed record.
 */
import * as Costsim from "../../core/costsim/index.ts";
import { ShadowMessage } from "../../core/costsim/index.ts";
import { readHistory } from "../_lib/costsim-history.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

export const handler = sqsBatchHandler({
  queue: Costsim.SHADOW_QUEUE,
  schema: ShadowMessage,
  handle: (msg) => Costsim.runShadow(msg, readHistory),
});
