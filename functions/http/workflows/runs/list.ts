import { page } from "../../../../core/platform/pagination.ts";
import * as Workflows from "../../../../core/workflows/index.ts";
import { RunListQuery, RunRecord } from "../../../../core/workflows/index.ts";
import { httpHandler } from "../../../_lib/http.ts";

/** The tenant's runs, newest first, filtered by workflow and status (an admin may name a tenant). */
export const handler = httpHandler({ query: RunListQuery, response: page(RunRecord) }, ({ query }) =>
  Workflows.listRuns(query),
);
