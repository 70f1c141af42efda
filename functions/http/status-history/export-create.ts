import * as StatusHistory from "../../../core/status-history/index.ts";
import { ExportCreate, ExportRecord } from "../../../core/status-history/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 202 with the export (pending) and where to follow it; the queue worker produces the file. */
export const handler = httpHandler(
  {
    body: ExportCreate,
    response: ExportRecord,
    status: 202,
    description: "The export was accepted; poll the location header (GET .../exports/{id}) until it is ready",
    errors: { 429: "Five exports of this tenant are already pending or running" },
  },
  async ({ body }) => {
    const e = await StatusHistory.createExport(body);
    // An admin exporting another tenant's history needs the tenant named to read it back.
    const location = `/api/v1/status_history/exports/${e.id}${body.tenant ? `?tenant=${e.tenant_id}` : ""}`;
    return new HttpReply(202, e, { location });
  },
);
