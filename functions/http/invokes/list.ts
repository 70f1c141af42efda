import * as Agents from "../../../core/agents/index.ts";
import { InvokeListQuery, InvokeRecord } from "../../../core/agents/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The tenant's invokes, newest first, by job (`job_id`) and by caller (`caller`: an instance id or key:<id>). */
export const handler = httpHandler({ query: InvokeListQuery, response: page(InvokeRecord) }, ({ query }) =>
  Agents.listInvokes(query),
);
