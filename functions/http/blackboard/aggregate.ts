import * as Agents from "../../../core/agents/index.ts";
import { Aggregate, AggregateQuery, BoardNsPath } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Aggregates of a numeric field (`value` for bare numbers), read from structures kept at each write. */
export const handler = httpHandler(
  {
    path: BoardNsPath,
    query: AggregateQuery,
    response: Aggregate,
    errors: { 503: "blackboard.unavailable: Redis did not answer; retry" },
  },
  ({ path, query }) => Agents.boardAggregate(path.ns, query),
);
