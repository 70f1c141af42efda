/**
 * Exports of a tenant's status history to S3: ask for one (a row plus a queue message), read it
 * back, and get a presigned download link once the worker (export-worker.ts) made it ready.
 */
import { randomUUID } from "node:crypto";
import { actorName, useActor } from "../context.ts";
import { ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { record } from "../platform/history/index.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import { presignGet } from "../platform/storage.ts";
import * as Tenancy from "../tenancy/index.ts";
import { ExportExpiredError, ExportNotFoundError, ExportNotReadyError, TooManyExportsError } from "./errors.ts";
import { exportOutbox } from "./export-outbox.ts";
import { ExportStates } from "./export-states.ts";
import type { ExportRow } from "./exports.sql.ts";
import * as sql from "./exports.sql.ts";
import type { ExportCreate, ExportRecord } from "./schema.ts";

/** Exports of one tenant that may be pending or running at once; the next request is a 429. */
export const MAX_OPEN_EXPORTS = 5;

/** `exports/status-history/<tenant>/<id>.csv[.gz]`: one key per export, so a rerun overwrites it. */
export const objectKey = (tenantId: string, id: string, format: string, gzip: boolean) =>
  `exports/status-history/${tenantId}/${id}.${format}${gzip ? ".gz" : ""}`;

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The wire shape; a ready export past its TTL reads as expired even before the sweeper ran. */
export function toRecord(row: ExportRow, now = clock().now()): ExportRecord {
  const lapsed = row.status === ExportStates.ready && row.expires_at !== null && row.expires_at <= now;
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    status: lapsed ? ExportStates.expired : row.status,
    format: row.format,
    gzip: row.gzip,
    filters: row.filters,
    row_count: row.row_count,
    bytes: row.bytes,
    sha256: row.sha256,
    attempts: row.attempts,
    last_error: row.last_error,
    created_at: row.created_at.toISOString(),
    completed_at: iso(row.completed_at),
    expires_at: iso(row.expires_at),
  };
}

/**
 * Ask for an export: `until` is fixed at now when not given and the rows are bounded by the
 * largest id committed now, so every attempt of the export reads the same rows. The message goes
 * out once the row is committed (the export outbox); if it is lost, the sweeper sends it again.
 */
export async function createExport(body: ExportCreate): Promise<ExportRecord> {
  const now = clock().now();
  const filters = { ...body.filters, until: body.filters.until ?? now };
  if (filters.since && filters.since >= filters.until) {
    throw new ValidationError("Invalid request: body.filters.since", [
      { field: "body.filters.since", message: "since must be before until (until defaults to now)" },
    ]);
  }
  return withTx(async () => {
    const tenantId = await Tenancy.resolveTenant(body.tenant);
    await query(sql.lockTenant, [tenantId]);
    const { rows: open } = await query<{ n: number }>(sql.openCount, [tenantId]);
    if ((open[0]?.n ?? 0) >= MAX_OPEN_EXPORTS) {
      throw new TooManyExportsError(MAX_OPEN_EXPORTS);
    }
    const { rows: max } = await query<{ max_id: number }>(sql.maxId);
    const id = randomUUID();
    const { rows } = await query<ExportRow>(sql.insert, [
      id,
      tenantId,
      body.format,
      body.gzip,
      JSON.stringify(filters),
      max[0]?.max_id ?? 0,
      objectKey(tenantId, id, body.format, body.gzip),
      actorName(useActor()),
      now,
    ]);
    await record({
      tenant_id: tenantId,
      entity_type: "export",
      entity_id: id,
      old_status: null,
      new_status: ExportStates.pending,
    });
    enqueueAfterCommit(exportOutbox, [{ id, tenant_id: tenantId }]);
    return toRecord(rows[0] as ExportRow, now);
  });
}

async function findExport(id: string, tenant: string | undefined): Promise<ExportRow> {
  const tenantId = await Tenancy.resolveTenant(tenant);
  const { rows } = await query<ExportRow>(sql.get, [id, tenantId]);
  if (!rows[0]) throw new ExportNotFoundError(id);
  return rows[0];
}

/** An export of the caller's tenant (or, for an admin, the tenant named); another tenant's is not found. */
export async function getExport(id: string, tenant?: string): Promise<ExportRecord> {
  return toRecord(await findExport(id, tenant));
}

/**
 * A presigned GET URL (PRESIGN_TTL_S) of a ready export, offered as `status-history-<id>.<ext>`.
 * Expired (by the sweeper, or past `expires_at` already): 410. Not ready: 409.
 */
export async function downloadUrl(id: string, tenant?: string): Promise<string> {
  const row = await findExport(id, tenant);
  const now = clock().now();
  if (row.status === ExportStates.expired || (row.expires_at !== null && row.expires_at <= now)) {
    throw new ExportExpiredError(id, row.expires_at ?? now);
  }
  if (row.status !== ExportStates.ready) throw new ExportNotReadyError(id, row.status);
  const ext = `${row.format}${row.gzip ? ".gz" : ""}`;
  return presignGet(row.object_key, { filename: `status-history-${id}.${ext}` });
}
