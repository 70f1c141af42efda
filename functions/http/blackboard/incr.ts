import * as Agents from "../../../core/agents/index.ts";
import { BoardEntry, BoardIncr, BoardPath } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The entry's new value and version; concurrent increments never lose one another. */
export const handler = httpHandler(
  {
    path: BoardPath,
    body: BoardIncr,
    response: BoardEntry,
    errors: {
      409: "blackboard.not_a_number: the entry holds something other than a number",
      503: "blackboard.unavailable: Redis did not answer; retry",
    },
  },
  ({ path, body }) => Agents.boardIncr(path.ns, path.key, body),
);
