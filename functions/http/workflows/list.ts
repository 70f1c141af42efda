import { page } from "../../../core/platform/pagination.ts";
import * as Workflows from "../../../core/workflows/index.ts";
import { WorkflowListQuery, WorkflowRecord } from "../../../core/workflows/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The tenant's workflows by name, each at its latest version (an admin may name a tenant). */
export const handler = httpHandler({ query: WorkflowListQuery, response: page(WorkflowRecord) }, ({ query }) =>
  Workflows.listWorkflows(query),
);
