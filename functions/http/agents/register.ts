import * as Agents from "../../../core/agents/index.ts";
import { AgentRecord, AgentRegister } from "../../../core/agents/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 201 with the instance; a key acts as it by sending its id in X-AOS-Agent-Id. */
export const handler = httpHandler(
  {
    body: AgentRegister,
    response: AgentRecord,
    status: 201,
    description: "The instance was registered",
    errors: { 404: "jobs.not_found: job_id is not a job of this tenant" },
  },
  async ({ body }) => {
    const agent = await Agents.register(body);
    return new HttpReply(201, agent, { location: `/api/v1/agents/${agent.id}` });
  },
);
