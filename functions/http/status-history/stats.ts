import * as StatusHistory from "../../../core/status-history/index.ts";
import { StatsQuery, StatsReply } from "../../../core/status-history/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: StatsQuery, response: StatsReply }, ({ query }) =>
  StatusHistory.stats(query),
);
