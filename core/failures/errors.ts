/** The failure catalog's errors. */
import { NotFoundError } from "../errors.ts";

export class FailureNotFoundError extends NotFoundError {
  override name = "FailureNotFoundError";
  constructor(id: string) {
    super("Failure", id, "failures.not_found");
  }
}
