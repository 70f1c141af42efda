import * as Agents from "../../../core/agents/index.ts";
import { AgentPath, AgentRecord, NoBody } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The instance was seen now: no longer stale. */
export const handler = httpHandler(
  {
    path: AgentPath,
    body: NoBody,
    response: AgentRecord,
    errors: {
      404: "agents.not_found: no such instance in this tenant",
      410: "agents.deregistered: the instance was deregistered",
    },
  },
  ({ path }) => Agents.heartbeat(path.id),
);
