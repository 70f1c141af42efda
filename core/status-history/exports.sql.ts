/**
 * The SQL of status history exports: the `status_history_exports` rows (create, claim, finish,
 * expire; re-sends through the export outbox's table) and the COPY statements that stream an
 * export's rows out of Postgres.
 *
 * Every instant is a parameter decided by `clock()` in JS, never Postgres' `now()`, so TTLs,
 * leases and the sweeper follow a ManualClock in tests. COPY takes no bind parameters: its
 * filter values arrive as transaction-local settings (see core/platform/db/copy.ts).
 */

import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import type { OutboxTable } from "../platform/outbox/outbox.sql.ts";
import { ExportStates } from "./export-states.ts";

const X = sqlLiterals(ExportStates);

type ExportFormat = "csv" | "jsonl";

/** The columns of an export, in file order (CSV header, JSONL keys): the API's HistoryRecord. */
export const EXPORT_COLUMNS = [
  "id",
  "tenant_id",
  "entity_type",
  "entity_id",
  "old_status",
  "new_status",
  "actor",
  "reason",
  "metadata",
  "correlation_id",
  "created_at",
] as const;

/**
 * SQL: `col`, with a leading `'` when it begins with `=`, `+`, `-`, `@`, tab or carriage return
 * (OWASP's CSV injection advice), so a spreadsheet shows the text instead of running a formula.
 * NULL stays NULL. `ascii()` (the first character's code point) costs far less than `left()`
 * and text comparisons at a million rows. Every one of those characters is below `A` (65), so
 * `ascii(col) < 65` settles most values (those beginning with a letter) in one comparison, and
 * the `in` list (six int4eq calls per value) runs only for the rest: at 1M rows this saves
 * about 0.25 CPU s of the backend's ~3 s, most of what the neutralising cost over none at all.
 */
const neutralised = (col: string) =>
  `case when ascii(${col}) < 65 and ascii(${col}) in (61, 43, 45, 64, 9, 13) then '''' || ${col} else ${col} end`;

type Column = (typeof EXPORT_COLUMNS)[number];

/**
 * `created_at` as RFC 3339 in UTC (`2026-11-22T10:00:00.123456Z`, the fraction without trailing
 * zeros), from the timestamp's own text output: about a fifth of the cost of `to_char` per row,
 * which at a million rows is most of the distance between this export and a bare COPY. Needs
 * DateStyle ISO, which streamExport sets for the COPY's transaction.
 */
export const createdAtExport = "replace(CAST(h.created_at at time zone 'UTC' AS text), ' ', 'T') || 'Z'";

/**
 * Each column as CSV cell text. entity_type needs no neutralising: its check constraint
 * (`^[a-z][a-z0-9_]{0,62}$`) only admits a lower-case letter first.
 */
const csvCell: Record<Column, string> = {
  id: "h.id",
  tenant_id: "h.tenant_id",
  entity_type: "h.entity_type",
  entity_id: neutralised("h.entity_id"),
  old_status: neutralised("h.old_status"),
  new_status: neutralised("h.new_status"),
  actor: neutralised("h.actor"),
  reason: neutralised("h.reason"),
  metadata: "CAST(h.metadata AS text)",
  correlation_id: neutralised("h.correlation_id"),
  created_at: createdAtExport,
};
const csvSelect = EXPORT_COLUMNS.map((c) => `${csvCell[c]} as ${c}`).join(", ");

/**
 * Each column as JSON text: `to_json` escapes free text (quotes, backslashes, every control
 * character); numbers, uuids, entity_type (see its check constraint), the jsonb metadata's own
 * text output and the formatted timestamp need no escaping. `quoted` values get their quotes
 * from the literals around them.
 */
const jsonValue: Record<Column, { sql: string; quoted?: true }> = {
  id: { sql: "CAST(h.id AS text)" },
  tenant_id: { sql: "CAST(h.tenant_id AS text)", quoted: true },
  entity_type: { sql: "h.entity_type", quoted: true },
  entity_id: { sql: "CAST(to_json(h.entity_id) AS text)" },
  old_status: { sql: "coalesce(CAST(to_json(h.old_status) AS text), 'null')" },
  new_status: { sql: "CAST(to_json(h.new_status) AS text)" },
  actor: { sql: "CAST(to_json(h.actor) AS text)" },
  reason: { sql: "coalesce(CAST(to_json(h.reason) AS text), 'null')" },
  metadata: { sql: "CAST(h.metadata AS text)" },
  correlation_id: { sql: "coalesce(CAST(to_json(h.correlation_id) AS text), 'null')" },
  created_at: { sql: createdAtExport, quoted: true },
};

/**
 * One JSON object per row with exactly the HistoryRecord keys, in order, built as text: on
 * Postgres 15 `json_build_object` costs about twice as much per row, since it works out every
 * argument's type again on every call.
 */
function jsonSelectSql(): string {
  const parts: string[] = [];
  let literal = "{";
  EXPORT_COLUMNS.forEach((c, i) => {
    const v = jsonValue[c];
    literal += `${i ? "," : ""}"${c}":${v.quoted ? '"' : ""}`;
    parts.push(`'${literal}'`, v.sql);
    literal = v.quoted ? '"' : "";
  });
  parts.push(`'${literal}}'`);
  return parts.join(" || ");
}
const jsonSelect = jsonSelectSql();

/**
 * JSONL goes out as CSV whose quote and delimiter are the control characters 0x01 and 0x02:
 * COPY quotes a value only when it holds the quote, the delimiter, CR or LF, and this JSON text
 * holds none of them raw (to_json escapes every control character, jsonb's text output too), so
 * each line is the JSON text exactly as Postgres built it, with no text-format backslash escaping.
 */
const copyOptions: Record<ExportFormat, string> = {
  csv: "format csv, header true, encoding 'UTF8'",
  jsonl: "format csv, quote e'\\x01', delimiter e'\\x02', encoding 'UTF8'",
};

/** `COPY (...) TO STDOUT` of the rows matching `where` (alias `h`), oldest first. */
export function copySql(format: ExportFormat, where: string): string {
  const select = format === "csv" ? csvSelect : jsonSelect;
  return `copy (select ${select} from status_history h where ${where} order by h.created_at, h.id)
    to stdout with (${copyOptions[format]})`;
}

const exportColumns = `e.id, e.tenant_id, e.status, e.format, e.gzip, e.filters, e.max_id, e.object_key, e.row_count,
  e.bytes, e.sha256, e.attempts, e.lease_until, e.last_error, e.created_at, e.updated_at, e.completed_at, e.expires_at`;
/** Serialises the open-export count check of one tenant's concurrent requests. */
export const lockTenant =
  "select pg_advisory_xact_lock(hashtext('status_history_exports'), hashtext(CAST($1 AS text)))";

export const openCount = /* @__PURE__ */ statement(
  () => `select CAST(count(*) AS int) as n from status_history_exports
    where tenant_id = $1 and status in (${X.pending}, ${X.running})`,
);

export const maxId = "select coalesce(max(id), 0) as max_id from status_history";

export const insert = /* @__PURE__ */ statement(
  () => `insert into status_history_exports as e
      (id, tenant_id, format, gzip, filters, max_id, object_key, requested_by, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
    returning ${exportColumns}`,
);

/** Tenant-scoped: another tenant's export is not found. */
export const get = /* @__PURE__ */ statement(
  () => `select ${exportColumns} from status_history_exports e where e.id = $1 and e.tenant_id = $2`,
);

/**
 * Take an export for one attempt: a pending one, or a running one whose lease ended (its
 * worker died) while attempts remain. $3 = now, $4 = lease end, $5 = EXPORT_MAX_ATTEMPTS.
 * Returns the status it had, for the history row.
 */
export const claim = /* @__PURE__ */ statement(
  () => `update status_history_exports e
      set status = ${X.running}, attempts = e.attempts + 1, lease_until = $4, started_at = $3, updated_at = $3
    from (select id, status from status_history_exports where id = $1 and tenant_id = $2 for update) old
    where e.id = old.id
      and (old.status = ${X.pending} or (old.status = ${X.running} and e.lease_until < $3 and e.attempts < $5))
    returning ${exportColumns}, old.status as previous_status`,
);

/** Finish the attempt `$3` if it still owns the export (a worker that lost its lease changes nothing). */
export const markReady = /* @__PURE__ */ statement(
  () => `update status_history_exports e
      set status = ${X.ready}, row_count = $4, bytes = $5, sha256 = $6, completed_at = $7, expires_at = $8,
        lease_until = null, last_error = null, updated_at = $7
    where e.id = $1 and e.tenant_id = $2 and e.status = ${X.running} and e.attempts = $3
    returning ${exportColumns}`,
);

/** Attempt `$3` failed: `$4` is 'pending' (SQS retries) or 'failed' (no attempt left). */
export const markAttemptFailed = /* @__PURE__ */ statement(
  () => `update status_history_exports e
      set status = $4, last_error = $5, lease_until = null, updated_at = $6,
        completed_at = case when $4 = ${X.failed} then CAST($6 AS timestamptz) end
    where e.id = $1 and e.tenant_id = $2 and e.status = ${X.running} and e.attempts = $3
    returning ${exportColumns}`,
);

/** A running export whose lease ended with no attempt left: failed without another try. */
export const failAbandoned = /* @__PURE__ */ statement(
  () => `update status_history_exports e
      set status = ${X.failed}, last_error = $4, lease_until = null, updated_at = $3, completed_at = $3
    where e.id = $1 and e.tenant_id = $2 and e.status = ${X.running} and e.lease_until < $3
    returning ${exportColumns}`,
);

/** Ready exports past their TTL, oldest first. */
export const dueForExpiry = /* @__PURE__ */ statement(
  () => `select e.id, e.tenant_id, e.object_key from status_history_exports e
    where e.status = ${X.ready} and e.expires_at <= $1 order by e.expires_at limit $2`,
);

export const markExpired = /* @__PURE__ */ statement(
  () => `update status_history_exports e set status = ${X.expired}, updated_at = $2
    where e.id = any(CAST($1 AS uuid[])) and e.status = ${X.ready}
    returning e.id, e.tenant_id`,
);

export interface ExportRow {
  id: string;
  tenant_id: string;
  status: "pending" | "running" | "ready" | "failed" | "expired";
  format: ExportFormat;
  gzip: boolean;
  filters: Record<string, unknown>;
  max_id: number;
  object_key: string;
  row_count: number | null;
  bytes: number | null;
  sha256: string | null;
  attempts: number;
  lease_until: Date | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  expires_at: Date | null;
}

/**
 * The export outbox's table (export-outbox.ts): a pending export wants a message, and so does a
 * running one whose lease ended a minute ago (its worker died; SQS usually redelivers by then).
 * One sent is presumed lost after 20 minutes (more than the queue's 960 s visibility timeout), and
 * a running export whose lease ended gets a new one once, whenever it was last sent before the lease end.
 */
export const exportOutboxTable: OutboxTable = {
  table: "status_history_exports",
  columns: "t.id, t.tenant_id",
  waiting: `t.status = ${X.pending}
    or (t.status = ${X.running} and t.lease_until < CAST($1 AS timestamptz) - interval '60 seconds')`,
  createdAt: "t.created_at",
  resendAfterS: 1200,
  needsMessageSince: `case when t.status = ${X.running} then t.lease_until end`,
};
