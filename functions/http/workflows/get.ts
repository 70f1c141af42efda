import * as Workflows from "../../../core/workflows/index.ts";
import { WorkflowGetQuery, WorkflowPath, WorkflowRecord } from "../../../core/workflows/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** A workflow of the tenant (latest version, or ?version=); another tenant's is a 404. */
export const handler = httpHandler(
  { path: WorkflowPath, query: WorkflowGetQuery, response: WorkflowRecord },
  ({ path, query }) => Workflows.getWorkflow(path.name, query),
);
