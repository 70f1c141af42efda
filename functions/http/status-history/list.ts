import { page } from "../../../core/platform/pagination.ts";
import * as StatusHistory from "../../../core/status-history/index.ts";
import { HistoryListQuery, HistoryRecord } from "../../../core/status-history/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: HistoryListQuery, response: page(HistoryRecord) }, ({ query }) =>
  StatusHistory.list(query),
);
