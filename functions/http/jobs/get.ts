import * as Jobs from "../../../core/jobs/index.ts";
import { JobPath, JobRecord, TenantQuery } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** A job with its items counted by state and its credits; another tenant's job is a 404. */
export const handler = httpHandler({ path: JobPath, query: TenantQuery, response: JobRecord }, ({ path, query }) =>
  Jobs.get(path.id, query.tenant),
);
