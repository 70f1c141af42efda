/**
 * An item that failed for good (no attempt left, or not retryable) goes to the failure catalog:
 * its error as the worker reported it (`{ code, message }` or text), the job as its run, the task
 * as its skill. Each failed skill call was recorded by Skills.execute already; this is the item's
 * end, whatever ran it (the SQS worker or an external agent).
 */
import * as Failures from "../failures/index.ts";

interface FailedItem {
  id: string;
  job_id: string;
  attempt: number;
  task: string;
}

export function recordItemFailure(
  item: FailedItem,
  error: Record<string, unknown>,
  tenantId?: string,
): Promise<Failures.Recorded> {
  return Failures.record({
    error: Failures.jobItemError(error),
    runId: item.job_id,
    skillId: item.task,
    context: { item_id: item.id, attempt: item.attempt, final: true },
    tenantId,
  });
}
