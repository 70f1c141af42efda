import * as Jobs from "../../core/jobs/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: expired leases back to pending (or failed), lost item messages re-sent, finished jobs settled. */
export const handler = cronHandler("JobSweep", () => Jobs.sweep());
