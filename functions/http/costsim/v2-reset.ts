import * as Costsim from "../../../core/costsim/index.ts";
import { BreakerStatus, ResetBody } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Admin: re-enable V2 now (the drift breaker closed, its open incidents ended), with a reason. */
export const handler = httpHandler({ body: ResetBody, response: BreakerStatus }, ({ body }) => Costsim.reset(body));
