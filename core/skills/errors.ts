/** The skills domain's errors; every one is an AppError with a `skills.*` code. */
import { AppError, ConflictError, NotFoundError, UnavailableError, ValidationError } from "../errors.ts";

export class SkillNotFoundError extends NotFoundError {
  override name = "SkillNotFoundError";
  constructor(name: string) {
    super("Skill", name, "skills.not_found");
  }
}

/** Same idempotency key, different args: the key names another call. */
export class IdempotencyConflictError extends ConflictError {
  override name = "IdempotencyConflictError";
  constructor(skill: string, key: string) {
    super(
      "skills.idempotency_conflict",
      `Idempotency key ${JSON.stringify(key)} was used for ${skill} with different args`,
      { details: { skill, idempotency_key: key } },
    );
  }
}

/** Same idempotency key while the first call still runs: never a second execution. */
export class ExecutionInProgressError extends ConflictError {
  override name = "ExecutionInProgressError";
  constructor(skill: string, key: string, retryAfterS: number) {
    super("skills.in_progress", `A call of ${skill} with idempotency key ${JSON.stringify(key)} is still running`, {
      details: { skill, idempotency_key: key },
      retryable: true,
      retryAfterS,
    });
  }
}

export class CircuitOpenError extends UnavailableError {
  override name = "CircuitOpenError";
  constructor(target: string, retryAfterS: number) {
    super("skills.circuit_open", `The circuit breaker of ${target} is open: calls are refused until it cools down`, {
      details: { target, retry_after_s: retryAfterS },
      retryAfterS,
    });
  }
}

/**
 * The external service failed. `retryable` for network errors, timeouts, 5xx and 429 (whose
 * Retry-After is kept); not for a refusal of the request itself (other 4xx, a redirect).
 */
export class UpstreamError extends AppError {
  override name = "UpstreamError";
  constructor(
    readonly target: string,
    message: string,
    options: {
      retryable: boolean;
      status?: number;
      retryAfterMs?: number;
      cause?: unknown;
      code?: string;
      /** The start of the upstream's reply body: read by the failure catalog's matcher, never put on a reply. */
      body?: string;
    },
  ) {
    super("bad_gateway", options.code ?? "skills.upstream_error", message, {
      details: { target, upstream_status: options.status ?? null },
      retryable: options.retryable,
      cause: options.cause,
      ...(options.retryAfterMs === undefined ? {} : { retryAfterS: options.retryAfterMs / 1000 }),
    });
    this.upstreamStatus = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.upstreamBody = options.body;
  }
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** Slack answers `invalid_token`, Voyage `{"detail": ...}`: what tells one refusal from another. */
  readonly upstreamBody: string | undefined;
}

export class SkillTimeoutError extends AppError {
  override name = "SkillTimeoutError";
  constructor(skill: string, ms: number) {
    super("timeout", "skills.timeout", `${skill} did not finish within ${ms} ms`, { retryable: true });
  }
}

/** A request-supplied URL that resolves to a private, loopback, link-local or metadata address. */
export class UrlBlockedError extends ValidationError {
  override name = "UrlBlockedError";
  constructor(field: string, reason: string) {
    super(
      `Refused to call this URL: ${reason}. A deployment that must reach such a host lists its host or host:port in SKILL_OUTBOUND_ALLOW_HOSTS`,
      [{ field, message: reason }],
      "skills.url_blocked",
    );
  }
}

/** A skill that needs a secret the deployment has not set (an API key, a signing secret). */
export class SkillNotConfiguredError extends UnavailableError {
  override name = "SkillNotConfiguredError";
  constructor(skill: string, what: string) {
    super("skills.not_configured", `${skill} is not configured: ${what} is not set`, { retryable: false });
  }
}

export class BreakerNotFoundError extends NotFoundError {
  override name = "BreakerNotFoundError";
  constructor(target: string) {
    super("Circuit breaker", target, "skills.breaker_not_found");
  }
}
