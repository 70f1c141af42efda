/** The jobs domain's errors. */
import { ConflictError, NotFoundError } from "../errors.ts";

export class JobNotFoundError extends NotFoundError {
  override name = "JobNotFoundError";
  constructor(id: string) {
    super("Job", id, "jobs.not_found");
  }
}

export class ItemNotFoundError extends NotFoundError {
  override name = "ItemNotFoundError";
  constructor(id: string) {
    super("Item", id, "jobs.item_not_found");
  }
}

/** 409: the worker no longer holds the item's lease (expired, taken over, or finished). */
export class LeaseLostError extends ConflictError {
  override name = "LeaseLostError";
  constructor(itemId: string, detail: string) {
    super("jobs.lease_lost", `Item ${itemId}: ${detail}`, { details: { item_id: itemId } });
  }
}

/** 409: the job no longer accepts claims (cancelled or finished). */
export class JobNotRunningError extends ConflictError {
  override name = "JobNotRunningError";
  constructor(id: string, status: string) {
    super("jobs.not_running", `Job ${id} is ${status}`, { details: { job_id: id, status } });
  }
}
