import * as Agents from "../../../core/agents/index.ts";
import { BoardListQuery, BoardNsPath, BoardPage } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The namespace's live entries in key order; pass next_cursor back as cursor for the next page. */
export const handler = httpHandler(
  {
    path: BoardNsPath,
    query: BoardListQuery,
    response: BoardPage,
    errors: { 503: "blackboard.unavailable: Redis did not answer; retry" },
  },
  ({ path, query }) => Agents.boardList(path.ns, query),
);
