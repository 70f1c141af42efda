import * as Agents from "../../../core/agents/index.ts";
import { MessageSend, MessageSent } from "../../../core/agents/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 201 with the stored message; 200 with the first one (`duplicate: true`) when the sender reuses a message_id. */
export const handler = httpHandler(
  {
    body: MessageSend,
    response: MessageSent,
    status: 201,
    description: "The message was stored (200 and duplicate: true when the sender's message_id was used before)",
    errors: {
      400: "A bad body or X-AOS-Agent-Id header (headers.x-aos-agent-id)",
      404: "agents.not_found: the recipient (or the instance of X-AOS-Agent-Id) is not in this tenant",
      410: "agents.deregistered: the recipient (or the instance of X-AOS-Agent-Id) was deregistered",
    },
  },
  async ({ body, headers }) => {
    const sent = await Agents.send(await Agents.actingAs(headers), body);
    return new HttpReply(sent.duplicate ? 200 : 201, sent);
  },
);
