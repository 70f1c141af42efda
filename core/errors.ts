import type { $ZodError } from "zod/v4/core";

/**
 * The one error tree. Every error that reaches a client is an `AppError`: a `kind` that decides
 * the HTTP status (see `functions/_lib/errors.ts`), a dotted `code` clients can branch on
 * (`tenancy.key_revoked`), a human message, optional `details`, and the `cause` kept for logs.
 */
export type ErrorKind =
  | "validation"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "gone"
  | "insufficient_credits"
  | "rate_limited"
  | "bad_gateway"
  | "timeout"
  | "unavailable"
  | "internal";

/** HTTP status of each kind; the only place this mapping lives. */
export const statusOfKind: Readonly<Record<ErrorKind, number>> = Object.freeze({
  validation: 400,
  unauthorized: 401,
  insufficient_credits: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  rate_limited: 429,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
  timeout: 504,
});

export interface AppErrorOptions {
  details?: unknown;
  cause?: unknown;
  /** Transient: a retry of the same operation may succeed (used by queue consumers). */
  retryable?: boolean;
  /** Seconds after which a retry may succeed; HTTP replies carry it as `Retry-After`. */
  retryAfterS?: number;
}

export class AppError extends Error {
  override name = "AppError";
  readonly details: unknown;
  readonly retryable: boolean;
  readonly retryAfterS: number | undefined;
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
    this.retryAfterS = options.retryAfterS;
    this.retryable = options.retryable ?? (kind === "unavailable" || kind === "timeout" || kind === "rate_limited");
  }
  get status(): number {
    return statusOfKind[this.kind];
  }
}

export interface FieldIssue {
  /** Where the bad value is: `body.items.0.input`, `query.limit`, `path.id`. */
  field: string;
  message: string;
}

export class ValidationError extends AppError {
  override name = "ValidationError";
  constructor(message: string, issues: FieldIssue[] = [], code = "validation.invalid_input") {
    super("validation", code, message, { details: { fields: issues } });
  }
}

/**
 * The one mapping of zod issues to fields: `{ field: "body.items.0.input", message }`, the path
 * prefixed by where the value came from (`body`, `query`, `body.args`, an entry's index). A strict
 * object names each unknown field itself, so a typo'd filter is pointed at.
 *
 * @example
 *   const r = safeParse(schema, raw);
 *   if (!r.success) throw validationError(fieldIssues("body", r.error));
 */
export function fieldIssues(where: string | number, err: $ZodError): FieldIssue[] {
  return err.issues.flatMap((i) => {
    const at = [String(where), ...i.path.map(String)];
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ field: [...at, k].join("."), message: "unknown field" }));
    return [{ field: at.join("."), message: i.message }];
  });
}

/** A 400 listing every bad field: `<what>: body.a, query.b`. */
export function validationError(issues: FieldIssue[], what = "Invalid request"): ValidationError {
  const fields = [...new Set(issues.map((i) => i.field))];
  return new ValidationError(`${what}: ${fields.join(", ")}`, issues);
}

export class UnauthorizedError extends AppError {
  override name = "UnauthorizedError";
  constructor(code = "auth.unauthorized", message = "A valid API key is required (Authorization: Bearer aos_...)") {
    super("unauthorized", code, message);
  }
}

export class ForbiddenError extends AppError {
  override name = "ForbiddenError";
  constructor(message = "This key's role may not do that", code = "auth.forbidden", details?: unknown) {
    super("forbidden", code, message, { details });
  }
}

export class NotFoundError extends AppError {
  override name = "NotFoundError";
  constructor(what: string, id?: string, code = "not_found") {
    super("not_found", code, id ? `${what} ${id} not found` : `${what} not found`);
  }
}

export class ConflictError extends AppError {
  override name = "ConflictError";
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super("conflict", code, message, options);
  }
}

export class UnavailableError extends AppError {
  override name = "UnavailableError";
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super("unavailable", code, message, options);
  }
}

export class InternalError extends AppError {
  override name = "InternalError";
  constructor(message = "Internal error", options: AppErrorOptions = {}) {
    super("internal", "internal", message, options);
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
