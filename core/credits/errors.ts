/** The credits domain's errors. */
import { AppError } from "../errors.ts";

/** 402: the tenant's available credits do not cover what is asked. */
export class InsufficientCreditsError extends AppError {
  override name = "InsufficientCreditsError";
  constructor(required: number, available: number) {
    super("insufficient_credits", "credits.insufficient", `${required} credits required, ${available} available`, {
      details: { required, available },
    });
  }
}
