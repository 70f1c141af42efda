/** The failure catalog's errors. */
import { AppError, NotFoundError } from "../errors.ts";

export class FailureNotFoundError extends NotFoundError {
  override name = "FailureNotFoundError";
  constructor(id: string) {
    super("Failure", id, "failures.not_found");
  }
}

/** The daily aggregation could not write some tenants' objects (the others were written). */
export class AggregationFailedError extends AppError {
  override name = "AggregationFailedError";
  constructor(day: string, failed: readonly { tenant_id: string; error: string }[]) {
    super(
      "unavailable",
      "failures.aggregation_failed",
      `Failure aggregation of ${day}: ${failed.length} tenant(s) not written`,
      { details: { day, failed: failed.slice(0, 20) } },
    );
  }
}
