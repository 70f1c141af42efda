/** The cost simulation domain's errors. */
import { AppError, ConflictError, type FieldIssue, NotFoundError, ValidationError } from "../errors.ts";

/**
 * 400: the plan cannot be simulated because it could never run as given: an unknown skill or
 * task, args a step or item could only fail with, a `$ref` to a later or missing step, a body
 * outside the workflow or job shape. `details.fields` names each bad field, as a 400 does.
 */
export class PlanInvalidError extends ValidationError {
  override name = "PlanInvalidError";
  constructor(readonly issues: FieldIssue[]) {
    const fields = [...new Set(issues.map((i) => i.field))];
    super(`Invalid plan: ${fields.join(", ")}`, issues, "costsim.invalid_plan");
  }

  /**
   * The same refusal with the fields under `from` (planOf names them `plan.workflow...`,
   * `plan.job...`) named where the caller's request holds them (`body.plan...`, `body...`).
   */
  at([from, to]: readonly [string, string]): PlanInvalidError {
    const moved = (f: string) => (f === from || f.startsWith(`${from}.`) ? `${to}${f.slice(from.length)}` : f);
    return new PlanInvalidError(this.issues.map((i) => ({ ...i, field: moved(i.field) })));
  }
}

/**
 * 500: the history handed to V2 is not the shape of skill_metrics rows, job item durations and
 * failure catalog shares (a caller's bug, not the client's): the shadow path records it as a
 * `v2_error`, V1's reply stands.
 */
export class HistoryInvalidError extends AppError {
  override name = "HistoryInvalidError";
  constructor(issues: FieldIssue[]) {
    super("internal", "costsim.invalid_history", `Invalid cost simulation history: ${issues.length} bad field(s)`, {
      details: { fields: issues },
    });
  }
}

/** 500: a reference dataset (core/costsim/datasets/*.json) is not the dataset shape. */
export class DatasetInvalidError extends AppError {
  override name = "DatasetInvalidError";
  constructor(name: string, issues: FieldIssue[]) {
    super("internal", "costsim.invalid_dataset", `Reference dataset ${name} is not valid`, {
      details: { dataset: name, fields: issues },
    });
  }
}

/** 409: a canary run holds the leadership; `details` name it and when its lease ends. */
export class CanaryRunningError extends ConflictError {
  override name = "CanaryRunningError";
  constructor(running: { id: string; started_at: string; lease_until: string } | null) {
    super("costsim.canary_running", "A canary run is under way: this one steps aside", {
      details: {
        running_report_id: running?.id ?? null,
        started_at: running?.started_at ?? null,
        lease_until: running?.lease_until ?? null,
      },
    });
  }
}

/** 404: no canary report has this id. */
export class CanaryReportNotFoundError extends NotFoundError {
  override name = "CanaryReportNotFoundError";
  constructor(id: string) {
    super("Canary report", id, "costsim.canary_report_not_found");
  }
}
