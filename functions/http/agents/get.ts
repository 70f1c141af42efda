import * as Agents from "../../../core/agents/index.ts";
import { AgentPath, AgentRecord } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** An instance of the key's tenant; another tenant's is a 404. */
export const handler = httpHandler(
  { path: AgentPath, response: AgentRecord, errors: { 404: "agents.not_found: no such instance in this tenant" } },
  ({ path }) => Agents.get(path.id),
);
