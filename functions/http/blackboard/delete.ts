import * as Agents from "../../../core/agents/index.ts";
import { BoardDeleteQuery, BoardPath } from "../../../core/agents/index.ts";
import { httpHandler, noContent } from "../../_lib/http.ts";

/** 204: deleted (with if_version: only at that version). */
export const handler = httpHandler(
  {
    path: BoardPath,
    query: BoardDeleteQuery,
    status: 204,
    description: "The entry was deleted",
    errors: {
      404: "blackboard.not_found: no such entry",
      409: "blackboard.version_mismatch: the entry is not at if_version (details.current_version)",
      503: "blackboard.unavailable: Redis did not answer; retry",
    },
  },
  async ({ path, query }) => {
    await Agents.boardDelete(path.ns, path.key, query.if_version);
    return noContent();
  },
);
