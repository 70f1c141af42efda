/**
 * The one mapper from an error to an HTTP reply: AppError kind -> status, a zod error -> 400 with
 * every bad field, anything else -> 500 with the request id and no internals. Same envelope
 * everywhere: {"error":{"code","message","details","requestId"}}.
 */
import type { $ZodError } from "zod/v4/core";
import { AppError, type FieldIssue, InternalError, ValidationError } from "../../core/errors.ts";
import { coerceError } from "../../core/platform/db/index.ts";

export interface ErrorEnvelope {
  error: { code: string; message: string; details: unknown; requestId: string };
}

/** zod issues -> `{ field: "body.items.0.input", message }`, prefixed by where the value came from. */
export function fieldIssues(where: "path" | "query" | "body", err: $ZodError): FieldIssue[] {
  return err.issues.flatMap((i) => {
    const at = [where, ...i.path.map(String)];
    // A strict object names the unknown fields themselves, so a typo'd filter is pointed at.
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ field: [...at, k].join("."), message: "unknown field" }));
    return [{ field: at.join("."), message: i.message }];
  });
}

export function validationError(issues: FieldIssue[]): ValidationError {
  const fields = [...new Set(issues.map((i) => i.field))];
  return new ValidationError(`Invalid request: ${fields.join(", ")}`, issues);
}

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
