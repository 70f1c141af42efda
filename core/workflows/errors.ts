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

/** 410: the run's ops were exported to S3 and removed by retention; nothing is left to replay or fork. */
export class RunArchivedError extends AppError {
  override name = "RunArchivedError";
  constructor(a: { run_id: string; object_key: string; sha256: string; ops: number; archived_at: string }) {
    super(
      "gone",
      "workflows.run_archived",
      `Workflow run ${a.run_id}: its ${a.ops} ops were archived to ${a.object_key} (retention) and are no longer in the log`,
      { details: a },
    );
  }
}

/** The retention cron could not archive some runs (their ops stay; the others were archived). */
export class RetentionFailedError extends AppError {
  override name = "RetentionFailedError";
  constructor(summary: object, failed: readonly { run_id: string; stage: string; error: string }[]) {
    super("unavailable", "workflows.retention_failed", `Workflow ops retention: ${failed.length} run(s) not archived`, {
      details: { ...summary, failed: failed.slice(0, 20) },
    });
  }
}
