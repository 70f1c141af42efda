import * as Costsim from "../../../core/costsim/index.ts";
import { CanaryReportsPage, CanaryReportsQuery } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Canary reports, newest first. */
export const handler = httpHandler({ query: CanaryReportsQuery, response: CanaryReportsPage }, ({ query }) =>
  Costsim.listCanaryReports(query),
);
