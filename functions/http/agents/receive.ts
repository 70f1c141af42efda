import * as Agents from "../../../core/agents/index.ts";
import { AgentPath, MessageBatch, ReceiveQuery } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * The instance's due messages after `after_seq`, in seq order, each leased for MESSAGE_LEASE_S:
 * ack them, or they are delivered again. With `wait_s` the call waits for a message up to that
 * long (no database connection is held while it waits).
 */
export const handler = httpHandler(
  {
    path: AgentPath,
    query: ReceiveQuery,
    response: MessageBatch,
    errors: {
      404: "agents.not_found: no such instance in this tenant",
      410: "agents.deregistered: the instance was deregistered",
    },
  },
  ({ path, query }) => Agents.receive(path.id, query),
);
