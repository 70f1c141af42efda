import type { $ZodError, $ZodRawIssue } from "zod/v4/core";

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
  | "method_not_allowed"
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
  method_not_allowed: 405,
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

const typeNames: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  bigint: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  date: "a date",
  null: "null",
};

const formatNames: Readonly<Record<string, string>> = {
  uuid: "a UUID",
  guid: "a UUID",
  datetime: "an ISO 8601 date-time, e.g. 2026-11-22T10:00:00Z",
  date: "a date, e.g. 2026-11-22",
  time: "a time, e.g. 10:00:00",
  url: "a URL",
  email: "an email address",
  base64: "base64 text",
  base64url: "base64url text",
};

const unit: Readonly<Record<string, string>> = {
  string: " characters",
  array: " items",
  set: " items",
  map: " entries",
};
const listOf = (values: readonly unknown[]) => values.map((v) => (typeof v === "string" ? v : String(v))).join(", ");

/**
 * The message of a zod issue whose schema set none, in AOS's own words (`must be a UUID`, `at
 * most 100 items`, `required`), never the library's English. `core/config.ts` installs it as
 * zod's message function for the whole process: 400s and configuration errors speak alike.
 */
export function issueMessage(issue: $ZodRawIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "required";
      if (issue.expected === "number" && typeof issue.input === "number") return "must be a finite number";
      return `must be ${typeNames[issue.expected] ?? issue.expected}`;
    }
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of: ${listOf(issue.values)}`;
    case "too_big": {
      const what = issue.exact ? "exactly" : issue.inclusive ? "at most" : "less than";
      return `must be ${what} ${issue.maximum.toString()}${unit[issue.origin ?? ""] ?? ""}`;
    }
    case "too_small": {
      if (issue.origin === "string" && Number(issue.minimum) === 1 && issue.inclusive) return "must not be empty";
      const what = issue.exact ? "exactly" : issue.inclusive ? "at least" : "more than";
      return `must be ${what} ${issue.minimum.toString()}${unit[issue.origin ?? ""] ?? ""}`;
    }
    case "invalid_format": {
      if (issue.format === "starts_with") return `must start with ${JSON.stringify(issue.prefix)}`;
      if (issue.format === "ends_with") return `must end with ${JSON.stringify(issue.suffix)}`;
      if (issue.format === "includes") return `must contain ${JSON.stringify(issue.includes)}`;
      return formatNames[issue.format] ? `must be ${formatNames[issue.format]}` : "has the wrong format";
    }
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor.toString()}`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`;
    case "invalid_key":
      return "has a key that is not allowed";
    case "invalid_element":
      return "has an element that is not allowed";
    case "invalid_union": {
      // A discriminated union names the values its discriminator takes.
      const options: unknown = (issue as { options?: unknown }).options;
      return Array.isArray(options) && options.length
        ? `must be one of: ${listOf(options)}`
        : "matches none of the shapes this field accepts";
    }
    default:
      return "is not valid";
  }
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
