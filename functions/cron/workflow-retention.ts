import * as Workflows from "../../core/workflows/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/**
 * Daily: the ops of runs finished more than WORKFLOW_OPS_RETENTION_DAYS ago exported to S3 and
 * deleted (status_history records each). Fails (and is seen failing) when a run could not be
 * archived; the others are archived all the same.
 */
export const handler = cronHandler("WorkflowRetention", async () => {
  const r = await Workflows.archiveOldRuns();
  const summary = { cutoff: r.cutoff, archived: r.archived.length, failed: r.failed.length, more: r.more };
  if (r.failed.length > 0) throw new Workflows.RetentionFailedError(summary, r.failed);
  return summary;
});
