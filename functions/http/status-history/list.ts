import { page } from "../../../core/platform/pagination.ts";
import { HistoryListQuery, HistoryRecord, StatusHistory } from "../../../core/status-history/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: HistoryListQuery, response: page(HistoryRecord) }, ({ query }) =>
  StatusHistory.list(query),
);
