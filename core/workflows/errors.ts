/** The workflows domain's errors. */
import { AppError, ConflictError, NotFoundError } from "../errors.ts";

export class WorkflowNotFoundError extends NotFoundError {
  override name = "WorkflowNotFoundError";
  constructor(name: string, version?: number) {
    super("Workflow", version === undefined ? name : `${name} version ${version}`, "workflows.not_found");
  }
}

export class RunNotFoundError extends NotFoundError {
  override name = "RunNotFoundError";
  constructor(id: string) {
    super("Workflow run", id, "workflows.run_not_found");
  }
}

export class ReplayNotFoundError extends NotFoundError {
  override name = "ReplayNotFoundError";
  constructor(id: string) {
    super("Replay", id, "workflows.replay_not_found");
  }
}

/** 409: the run is no longer running (cancel of a finished run). */
export class RunNotRunningError extends ConflictError {
  override name = "RunNotRunningError";
  constructor(id: string, status: string) {
    super("workflows.run_not_running", `Workflow run ${id} is ${status}`, { details: { run_id: id, status } });
  }
}

/** 409: a run's idempotency_key sent again with another workflow, version or input. */
export class RunKeyReusedError extends ConflictError {
  override name = "RunKeyReusedError";
  constructor(key: string, runId: string) {
    super(
      "workflows.idempotency_key_reused",
      `idempotency_key ${JSON.stringify(key)} already started run ${runId} with another workflow, version or input`,
      { details: { idempotency_key: key, run_id: runId } },
    );
  }
}

/** A step's `$ref` names nothing in the run's input or the earlier results: the step cannot run. */
export class UnresolvedRefError extends AppError {
  override name = "UnresolvedRefError";
  constructor(step: string, ref: string) {
    super("validation", "workflows.unresolved_ref", `Step ${step}: ${ref} names nothing in the run`, {
      details: { step, ref },
    });
  }
}
