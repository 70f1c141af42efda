import * as Agents from "../../../core/agents/index.ts";
import { AgentPath, InvokeBody, InvokeRecord } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * Delivers an `invoke.request` message to the target (its payload carries invoke_id, input and
 * deadline_at) and waits for its answer. The caller is the instance of X-AOS-Agent-Id, or the key.
 */
export const handler = httpHandler(
  {
    path: AgentPath,
    body: InvokeBody,
    response: InvokeRecord,
    description:
      "The target answered in time: status completed (response_payload.output) or failed (error_message); or the caller canceled it meanwhile: status canceled",
    errors: {
      400: "A bad body or X-AOS-Agent-Id header (headers.x-aos-agent-id)",
      402: "credits.insufficient: the credits asked for are not available; nothing was written",
      404: "agents.not_found: the target (or the instance of X-AOS-Agent-Id) is not in this tenant; jobs.not_found: job_id is not a job of this tenant",
      410: "agents.deregistered: the target (or the instance of X-AOS-Agent-Id) was deregistered",
      504: "agents.invoke_timeout: no answer by the deadline (details.invoke_id); the invoke stays answerable and a later answer is recorded as late",
    },
  },
  async ({ path, body, headers }) => Agents.invoke(await Agents.actingAs(headers), path.id, body),
);
