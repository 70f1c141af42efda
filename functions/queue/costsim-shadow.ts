/**
 * The CostsimShadow worker: each record names one shadow request (costsim_shadow_requests, written
 * by a V1 simulate with the sandbox on, its message sent by the CostsimShadowRelay cron):
 * `Costsim.runRequest` runs V2 on its plan with the tenant's history, compares, records in
 * costsim_provenance (idempotent by input and simulation time), counts, and deletes the request. A
 * V2 error is a recorded `v2_error`, not a failed record; a request already deleted is a duplicate.
 */
import * as Costsim from "../../core/costsim/index.ts";
import { ShadowRequestMessage } from "../../core/costsim/index.ts";
import { readHistory } from "../_lib/costsim-history.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

export const handler = sqsBatchHandler({
  queue: Costsim.SHADOW_QUEUE,
  schema: ShadowRequestMessage,
  handle: (msg) => Costsim.runRequest(msg, readHistory),
});
