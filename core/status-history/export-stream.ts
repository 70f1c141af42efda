/**
 * One attempt's data path: the export's rows stream out of Postgres with COPY into
 * `uploadHashed` (gzip level 1 when asked, a SHA-256 / byte counter, an S3 multipart upload),
 * with backpressure all the way, so memory stays flat whatever the row count. Then the manifest
 * is written next to the object.
 */
import { parse } from "zod/mini";
import { clock } from "../platform/clock.ts";
import { type CopySetting, copyOut, pool, settingPlaceholder } from "../platform/db/index.ts";
import { putObject, uploadHashed } from "../platform/storage.ts";
import { copySql, EXPORT_COLUMNS, type ExportRow } from "./exports.sql.ts";
import { HistoryFilters } from "./schema.ts";
import { filterSql } from "./status-history.sql.ts";

export interface StreamedExport {
  rowCount: number;
  bytes: number;
  sha256: string;
}

const contentTypes = { csv: "text/csv; charset=utf-8", jsonl: "application/x-ndjson; charset=utf-8" } as const;

export const manifestKeyOf = (objectKey: string) => `${objectKey}.manifest.json`;

/**
 * Write the export's object and its manifest. Throws (an AppError) on any failure; the upload
 * aborts its multipart upload first, so a failed attempt leaves no object at the key (a rerun
 * writes the same key, so a later success replaces whatever an earlier one left).
 */
export async function streamExport(row: ExportRow): Promise<StreamedExport> {
  const filters = parse(HistoryFilters, row.filters);
  // The timestamp text of createdAtExport is ISO only under DateStyle ISO, whatever the role's.
  const settings: CopySetting[] = [["datestyle", "ISO, YMD"]];
  const where = filterSql(row.tenant_id, filters, settingPlaceholder(settings, "aos.export_"), row.max_id);
  const contentType = contentTypes[row.format];
  let stored = { bytes: 0, sha256: "" };
  const { rowCount } = await copyOut(await pool(), { text: copySql(row.format, where), settings }, async (rows) => {
    stored = await uploadHashed(row.object_key, rows, {
      gzip: row.gzip,
      contentType,
      metadata: { "export-id": row.id },
    });
  });
  const { bytes, sha256 } = stored;
  const manifest = {
    export_id: row.id,
    tenant_id: row.tenant_id,
    format: row.format,
    gzip: row.gzip,
    filters: row.filters,
    columns: EXPORT_COLUMNS,
    row_count: rowCount,
    bytes,
    sha256,
    generated_at: clock().now().toISOString(),
  };
  await putObject(manifestKeyOf(row.object_key), `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: "application/json",
    metadata: { "export-id": row.id },
  });
  return { rowCount, bytes, sha256 };
}
