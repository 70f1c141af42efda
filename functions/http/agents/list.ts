import * as Agents from "../../../core/agents/index.ts";
import { AgentListQuery, AgentRecord } from "../../../core/agents/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The tenant's instances, newest first, optionally of one job. */
export const handler = httpHandler({ query: AgentListQuery, response: page(AgentRecord) }, ({ query }) =>
  Agents.list(query),
);
