import * as Workflows from "../../../../core/workflows/index.ts";
import { RunPath, RunRecord, TenantQuery } from "../../../../core/workflows/index.ts";
import { httpHandler } from "../../../_lib/http.ts";

/** A run with its ops (the audit log, hashes and chain) and summary; another tenant's is a 404. */
export const handler = httpHandler({ path: RunPath, query: TenantQuery, response: RunRecord }, ({ path, query }) =>
  Workflows.getRunWithOps(path.id, query.tenant),
);
