import { page } from "../../../core/platform/pagination.ts";
import * as StatusHistory from "../../../core/status-history/index.ts";
import { EntityPath, EntityQuery, HistoryRecord } from "../../../core/status-history/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** An entity nobody recorded a change of has an empty history (200), not a 404. */
export const handler = httpHandler(
  { path: EntityPath, query: EntityQuery, response: page(HistoryRecord) },
  ({ path, query }) => StatusHistory.entityHistory(path.type, path.id, query),
);
