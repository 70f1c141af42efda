import * as Agents from "../../../core/agents/index.ts";
import { DeadQuery, MessageRecord } from "../../../core/agents/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The tenant's dead letters, newest first, optionally of one recipient (`to`). */
export const handler = httpHandler({ query: DeadQuery, response: page(MessageRecord) }, ({ query }) =>
  Agents.dead(query),
);
