import * as Agents from "../../../core/agents/index.ts";
import { AgentPath, AgentRecord } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * Soft delete: the instance stays listed as `deregistered`; its unacked messages become dead
 * letters now; sends, invokes, heartbeats and receives for it answer 410 from now on.
 */
export const handler = httpHandler(
  {
    path: AgentPath,
    response: AgentRecord,
    description: "The instance, status deregistered (again: the same row)",
    errors: { 404: "agents.not_found: no such instance in this tenant" },
  },
  ({ path }) => Agents.deregister(path.id),
);
