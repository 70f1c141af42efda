import * as StatusHistory from "../../core/status-history/index.ts";
import { ExportMessage } from "../../core/status-history/index.ts";
import { sqsHandler } from "../_lib/sqs.ts";

/** One export at a time: it streams for minutes and owns the function's memory. */
export const handler = sqsHandler({ queue: "StatusHistoryExports", body: ExportMessage, concurrency: 1 }, (msg) =>
  StatusHistory.runExport(msg),
);
