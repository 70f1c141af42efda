import * as Failures from "../../core/failures/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Daily: delete failure records older than FAILURE_RETENTION_DAYS, in batches. */
export const handler = cronHandler("FailureRetention", () => Failures.deleteExpired());
