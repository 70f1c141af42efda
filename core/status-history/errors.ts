/** Status history's errors: each with the dotted code clients branch on. */
import { AppError } from "../errors.ts";

export class ExportNotFoundError extends AppError {
  override name = "ExportNotFoundError";
  constructor(id: string) {
    super("not_found", "status_history.export_not_found", `No export ${id}`);
  }
}

/** The export exists but has no file yet (pending, running) or never will (failed). */
export class ExportNotReadyError extends AppError {
  override name = "ExportNotReadyError";
  constructor(id: string, status: string) {
    super("conflict", "status_history.export_not_ready", `Export ${id} is ${status}, not ready`, {
      details: { status },
    });
  }
}

export class ExportExpiredError extends AppError {
  override name = "ExportExpiredError";
  constructor(id: string, expiredAt: Date) {
    super("gone", "status_history.export_expired", `Export ${id} expired at ${expiredAt.toISOString()}`, {
      details: { expired_at: expiredAt.toISOString() },
    });
  }
}

/** A tenant already has `limit` exports pending or running. */
export class TooManyExportsError extends AppError {
  override name = "TooManyExportsError";
  constructor(limit: number) {
    super(
      "rate_limited",
      "status_history.too_many_exports",
      `At most ${limit} exports may be pending or running at once; wait for one to finish`,
      { details: { limit } },
    );
  }
}

/** Another attempt holds the export's lease: retryable, so SQS delivers the message again later. */
export class ExportBusyError extends AppError {
  override name = "ExportBusyError";
  constructor(id: string, status: string, leaseUntil: Date | null) {
    super("conflict", "status_history.export_busy", `Export ${id} is ${status} elsewhere`, {
      retryable: true,
      details: { lease_until: leaseUntil?.toISOString() ?? null },
    });
  }
}
