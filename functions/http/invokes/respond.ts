import * as Agents from "../../../core/agents/index.ts";
import { AGENT_HEADER, InvokePath, InvokeRecord, InvokeRespond } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * The answer recorded: completed / failed in time (credits charged / released), late after the
 * deadline, kept on the row (status stays canceled, answered_at set) after the caller's cancel.
 */
export const handler = httpHandler(
  {
    path: InvokePath,
    body: InvokeRespond,
    response: InvokeRecord,
    errors: {
      400: "A bad body (exactly one of output and error) or X-AOS-Agent-Id header",
      403: "agents.not_target: the instance of X-AOS-Agent-Id is not the invoke's target",
      404: "agents.invoke_not_found: no such invoke in this tenant",
      409: "agents.invoke_answered: the invoke was answered already (details.status)",
      410: "agents.deregistered: the instance of X-AOS-Agent-Id was deregistered",
    },
  },
  async ({ path, body, headers }) => {
    const responder = headers[AGENT_HEADER] ? await Agents.actingAs(headers) : undefined;
    return Agents.respond(path.invoke_id, responder, body);
  },
);
