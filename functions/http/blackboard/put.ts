import * as Agents from "../../../core/agents/index.ts";
import { BoardEntry, BoardPath, BoardPut } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The entry written with its new version (1 when created). */
export const handler = httpHandler(
  {
    path: BoardPath,
    body: BoardPut,
    response: BoardEntry,
    errors: {
      400: "A bad namespace, key or body, or a value larger than BLACKBOARD_MAX_VALUE_BYTES (body.value)",
      409: "blackboard.version_mismatch: the entry is not at if_version (details.current_version; 0: absent)",
      503: "blackboard.unavailable: Redis did not answer; retry",
    },
  },
  ({ path, body }) => Agents.boardPut(path.ns, path.key, body),
);
