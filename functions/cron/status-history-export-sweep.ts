import * as StatusHistory from "../../core/status-history/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every 5 minutes: expire exports past their TTL (objects deleted), re-send lost export messages. */
export const handler = cronHandler("StatusHistoryExportSweep", () => StatusHistory.sweepExports());
