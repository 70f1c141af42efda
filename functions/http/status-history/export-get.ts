import * as StatusHistory from "../../../core/status-history/index.ts";
import { ExportIdPath, ExportQuery, ExportRecord } from "../../../core/status-history/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler(
  { path: ExportIdPath, query: ExportQuery, response: ExportRecord },
  ({ path, query }) => StatusHistory.getExport(path.id, query.tenant),
);
