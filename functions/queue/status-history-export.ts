import * as StatusHistory from "../../core/status-history/index.ts";
import { ExportMessageIn } from "../../core/status-history/index.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

/** One export at a time: it streams for minutes and owns the function's memory. */
export const handler = sqsBatchHandler({
  queue: "StatusHistoryExports",
  schema: ExportMessageIn,
  concurrency: 1,
  handle: (msg) => StatusHistory.runExport(msg),
});
