/**
 * Postgres error codes -> AppError kinds, in one commented table (SQLSTATE, see the Postgres
 * manual's appendix A). `coerceError` is called at every catch that may see a driver error, so a
 * unique violation answers 409 and a statement timeout 504 instead of a bare 500.
 */
import { AppError, type ErrorKind, isAppError } from "../../errors.ts";

interface PgCodeRule {
  kind: ErrorKind;
  code: string;
  message: string;
  /** A retry of the whole transaction may succeed. */
  retryTx?: boolean;
}

export const pgErrorTable: Readonly<Record<string, PgCodeRule>> = Object.freeze({
  // Class 23, integrity constraint violation: the request contradicts data already there.
  "23505": { kind: "conflict", code: "db.unique_violation", message: "A row with this key already exists" },
  "23503": {
    kind: "conflict",
    code: "db.foreign_key_violation",
    message: "A referenced row does not exist or is still referenced",
  },
  "23502": { kind: "validation", code: "db.not_null_violation", message: "A required value is missing" },
  "23514": { kind: "validation", code: "db.check_violation", message: "A value is outside its allowed range" },
  "23P01": { kind: "conflict", code: "db.exclusion_violation", message: "The row overlaps an existing one" },
  // Class 22, data exception: a value of the wrong shape got past validation.
  "22P02": { kind: "validation", code: "db.invalid_text", message: "A value has the wrong format" },
  "22001": { kind: "validation", code: "db.value_too_long", message: "A value is too long" },
  "22003": { kind: "validation", code: "db.out_of_range", message: "A number is out of range" },
  "22007": { kind: "validation", code: "db.invalid_datetime", message: "A date or time has the wrong format" },
  // Class 40, transaction rollback: the transaction lost a race; run it again.
  "40001": {
    kind: "conflict",
    code: "db.serialization_failure",
    message: "Concurrent update, try again",
    retryTx: true,
  },
  "40P01": { kind: "conflict", code: "db.deadlock", message: "Deadlock detected, try again", retryTx: true },
  // Class 55, object not in prerequisite state: NOWAIT lock attempts.
  "55P03": { kind: "conflict", code: "db.lock_not_available", message: "The row is locked by another operation" },
  // Class 57, operator intervention: statement_timeout fires as 57014.
  "57014": { kind: "timeout", code: "db.statement_timeout", message: "The database took too long to answer" },
  // pg_terminate_backend and a fast shutdown both end a session with 57P01; a crash with 57P02.
  "57P01": {
    kind: "unavailable",
    code: "db.shutdown",
    message: "The database closed the connection (a restart or an administrator's command); retry",
  },
  "57P02": {
    kind: "unavailable",
    code: "db.shutdown",
    message: "The database closed the connection (a restart or an administrator's command); retry",
  },
  "57P03": { kind: "unavailable", code: "db.cannot_connect_now", message: "The database is starting" },
  // Class 53, insufficient resources.
  "53300": { kind: "unavailable", code: "db.too_many_connections", message: "The database has no free connection" },
  // Class 25: idle_in_transaction_session_timeout and friends.
  "25P03": { kind: "timeout", code: "db.idle_in_transaction_timeout", message: "The transaction stayed idle too long" },
});

/** Connection-level failures surface as Node errors, or SQLSTATE class 08. */
const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]);
/** SQLSTATEs after which the server has closed the session: 57P01, 57P02 and class 08. */
const closingCodes = /^(57P01|57P02|08...)$/;
/** What the drivers say when the socket went away under them (they give no code). */
const lostMessages = /Connection terminated|not queryable|timeout exceeded when trying to connect/i;

/** Seconds a client should wait before retrying when the database is unavailable (`Retry-After`). */
const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * A connection that failed under its caller: lost (pg_terminate_backend, a reset, a restart) or
 * silent past DB_QUERY_TIMEOUT_MS. SQLSTATE 08006 (connection_failure), so `coerceError` makes it
 * a 503 `db.unavailable`.
 */
export class ConnectionLostError extends Error {
  override name = "ConnectionLostError";
  readonly code = "08006";
}

/** The error says the connection under it is gone: it must be closed, never pooled again. */
export function isConnectionFailure(e: unknown): boolean {
  if (e instanceof ConnectionLostError) return true;
  const code = pgCode(e);
  if (code !== undefined && (closingCodes.test(code) || networkCodes.has(code))) return true;
  return e instanceof Error && lostMessages.test(e.message);
}

export function pgCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isRetryableTxError(e: unknown): boolean {
  const code = pgCode(e);
  return code !== undefined && pgErrorTable[code]?.retryTx === true;
}

/** Turn anything a driver threw into an AppError; AppErrors pass through unchanged. */
export function coerceError(e: unknown): AppError {
  if (isAppError(e)) return e;
  const code = pgCode(e);
  if (code) {
    const rule = pgErrorTable[code];
    if (rule) {
      const constraint = (e as { constraint?: string }).constraint;
      return new AppError(rule.kind, rule.code, rule.message, {
        cause: e,
        details: constraint ? { constraint } : undefined,
        retryable: rule.retryTx,
        retryAfterS: rule.kind === "unavailable" ? UNAVAILABLE_RETRY_AFTER_S : undefined,
      });
    }
  }
  if (isConnectionFailure(e)) return unavailable(e);
  return new AppError("internal", "internal", "Internal error", { cause: e });
}

/** 503 `db.unavailable`: the database cannot be reached, stopped answering or dropped the connection. */
function unavailable(cause: unknown): AppError {
  return new AppError(
    "unavailable",
    "db.unavailable",
    "The database cannot be reached or dropped the connection; retry",
    {
      cause,
      retryAfterS: UNAVAILABLE_RETRY_AFTER_S,
    },
  );
}
