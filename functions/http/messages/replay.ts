import * as Agents from "../../../core/agents/index.ts";
import { MessagePath, MessageRecord, NoBody } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The dead letter back in its recipient's inbox under a new seq, its deliveries counted from 0. */
export const handler = httpHandler(
  {
    path: MessagePath,
    body: NoBody,
    response: MessageRecord,
    errors: {
      404: "agents.message_not_found: no such message in this tenant",
      409: "agents.message_not_dead: the message is not a dead letter",
      410: "agents.deregistered: its recipient was deregistered (its inbox is closed)",
    },
  },
  ({ path }) => Agents.replay(path.id),
);
