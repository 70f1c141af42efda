import * as Agents from "../../../core/agents/index.ts";
import { InvokePath, InvokeRecord, NoBody } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * The caller gives up on its invoke (A2A `canceled`): credits released, the request acked, the
 * caller's waiting invoke answered 200 with status canceled. A later answer is kept on the row.
 */
export const handler = httpHandler(
  {
    path: InvokePath,
    body: NoBody,
    response: InvokeRecord,
    description: "The invoke canceled (again: the same row), credits_charged 0 when credits were held",
    errors: {
      400: "A bad X-AOS-Agent-Id header",
      403: "agents.not_caller: only the invoke's caller (the same X-AOS-Agent-Id, or the same key acting as itself) may cancel it",
      404: "agents.invoke_not_found: no such invoke in this tenant",
      409: "agents.invoke_answered: the target answered first (details.status)",
      410: "agents.deregistered: the instance of X-AOS-Agent-Id was deregistered",
    },
  },
  async ({ path, headers }) => Agents.cancelInvoke(path.invoke_id, await Agents.actingAs(headers)),
);
