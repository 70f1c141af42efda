import * as Agents from "../../../core/agents/index.ts";
import { MessagePath, MessageRecord, NoBody } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Done with the message: it is not delivered again (acking twice answers the same row). */
export const handler = httpHandler(
  {
    path: MessagePath,
    body: NoBody,
    response: MessageRecord,
    errors: { 404: "agents.message_not_found: no such message in this tenant" },
  },
  ({ path }) => Agents.ack(path.id),
);
