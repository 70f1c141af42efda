import * as Costsim from "../../../core/costsim/index.ts";
import { IncidentsPage, IncidentsQuery } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The drift breaker's incidents (every tenant's breaker), newest first. */
export const handler = httpHandler({ query: IncidentsQuery, response: IncidentsPage }, ({ query }) =>
  Costsim.listIncidents(query),
);
