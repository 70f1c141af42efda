import * as Agents from "../../../core/agents/index.ts";
import { BoardEntry, BoardPath } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The entry's value, version and expiry. */
export const handler = httpHandler(
  {
    path: BoardPath,
    response: BoardEntry,
    errors: {
      404: "blackboard.not_found: no such entry (or it expired)",
      503: "blackboard.unavailable: Redis did not answer; retry",
    },
  },
  ({ path }) => Agents.boardGet(path.ns, path.key),
);
