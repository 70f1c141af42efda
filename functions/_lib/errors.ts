/**
 * The one mapper from an error to an HTTP reply: AppError kind -> status, a zod error -> 400 with
 * every bad field, anything else -> 500 with the request id and no internals. Same envelope
 * everywhere: {"error":{"code","message","details","requestId"}}.
 */
import { AppError, InternalError } from "../../core/errors.ts";
import { coerceError } from "../../core/platform/db/index.ts";

export interface ErrorEnvelope {
  error: { code: string; message: string; details: unknown; requestId: string };
}

// zod issues -> 400 is mapped in core (core/errors.ts), where core's own validation uses it too.
export { fieldIssues, validationError } from "../../core/errors.ts";

export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const coerced = coerceError(e);
  return coerced.kind === "internal" ? new InternalError("Internal error", { cause: e }) : coerced;
}

export function envelope(err: AppError, requestId: string): ErrorEnvelope {
  return {
    error: {
      code: err.code,
      // Internal errors never describe themselves to the client: the request id finds the log.
      message: err.kind === "internal" ? "Internal error" : err.message,
      details: err.kind === "internal" ? null : (err.details ?? null),
      requestId,
    },
  };
}
