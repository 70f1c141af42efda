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
  // Off the failing path: written beside the step, finished before the invocation ends.
  Failures.recordInBackground({
    error,
    runId: run.id,
    skillId: step.skill,
    stepIndex: opIndex,
    context: { workflow: run.workflow, step_id: step.id, attempt },
  });
}

/** Seconds before the step runs again: the catalog entry's backoff when it has one, else at once. */
export const stepRetryDelayS = (d: Failures.RetryDecision, attempt: number): number =>
  d.backoff ? Failures.retryDelayS(d.backoff, attempt) : 0;
