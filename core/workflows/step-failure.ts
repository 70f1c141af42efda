/**
 * A workflow step's failure and the failure catalog: recorded with the run id, op index and
 * skill; the delay before the step runs again from the entry's backoff (step.ts asks
 * `Failures.retryDecision` whether it does).
 */
import type { AppError } from "../errors.ts";
import * as Failures from "../failures/index.ts";
import type { WorkflowStep } from "./schema.ts";
import type * as sql from "./workflows.sql.ts";

/** A step's failure in the failure catalog, with the run, the op index and the skill. */
export function recordFailure(run: sql.RunRow, step: WorkflowStep, opIndex: number, error: AppError, attempt: number) {
  return Failures.record({
    error,
    runId: run.id,
    skillId: step.skill,
    stepIndex: opIndex,
    context: { workflow: run.workflow, step_id: step.id, attempt },
  });
}

/**
 * Seconds before attempt `attempt + 1`: the catalog entry's backoff (base doubling to its max)
 * when it has one, else at once (SQS's DelaySeconds, at most 900).
 */
export function retryDelayS(d: Failures.RetryDecision, attempt: number): number {
  if (!d.backoff) return 0;
  const ms = Math.min(d.backoff.maxMs, d.backoff.baseMs * 2 ** (attempt - 1));
  return Math.min(900, Math.ceil(ms / 1000));
}
