import * as StatusHistory from "../../../core/status-history/index.ts";
import { ExportIdPath, ExportQuery } from "../../../core/status-history/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 302 to a presigned S3 URL (PRESIGN_TTL_S); the link itself is the credential, so never cached. */
export const handler = httpHandler(
  {
    path: ExportIdPath,
    query: ExportQuery,
    status: 302,
    description: "Redirect (location header) to a presigned S3 URL of the file, valid PRESIGN_TTL_S seconds",
    errors: { 409: "The export is not ready (pending, running or failed)", 410: "The export expired" },
  },
  async ({ path, query }) => {
    const url = await StatusHistory.downloadUrl(path.id, query.tenant);
    return new HttpReply(302, undefined, { location: url, "cache-control": "no-store" });
  },
);
