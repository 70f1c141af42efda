import * as Jobs from "../../../core/jobs/index.ts";
import { JobListQuery, JobRecord } from "../../../core/jobs/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The tenant's jobs, newest first, filtered by status and task (an admin may name a tenant). */
export const handler = httpHandler({ query: JobListQuery, response: page(JobRecord) }, ({ query }) => Jobs.list(query));
