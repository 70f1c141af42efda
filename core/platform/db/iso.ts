/**
 * The wire format of timestamps, written by Postgres: UTC ISO 8601 with six fractional digits
 * (`2026-11-22T10:00:00.123456Z`). Microseconds are kept (a JS Date would drop them), so keyset
 * cursors built from them find their place exactly. Every domain's SQL uses this one helper.
 */

/** to_char's pattern of the wire format. */
export const ISO_UTC_PATTERN = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** SQL: the timestamptz expression `expr` as wire text (whatever the session's TimeZone). */
export const isoUtc = (expr: string): string => `to_char(${expr} at time zone 'UTC', ${ISO_UTC_PATTERN})`;
