import * as Costsim from "../../../core/costsim/index.ts";
import { DivergenceQuery, DivergenceReply } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The divergence report of the caller's tenant (an admin may name another with tenant_id). */
export const handler = httpHandler(
  {
    query: DivergenceQuery,
    response: DivergenceReply,
    errors: { 403: "tenant_id names another tenant and the key is not an admin's", 404: "No tenant by that tenant_id" },
  },
  ({ query }) => Costsim.divergenceReport(query),
);
