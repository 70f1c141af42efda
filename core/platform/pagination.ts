/**
 * Keyset pagination with opaque cursors: a cursor is the sort key of the last row of a page,
 * base64url-encoded JSON. Clients pass it back unchanged; a tampered or impossible cursor (a date
 * that does not exist, a malformed id) is a 400 on `query.cursor`, checked here for every listing.
 */
import * as z from "zod/mini";
import { ValidationError } from "../errors.ts";

export const PageQuery = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 50),
  cursor: z.optional(z.string().check(z.maxLength(512))),
});

/** The reply schema of a listing of `item`s: `{ data, next_cursor }`. */
export const page = <T extends z.ZodMiniType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.nullable(z.string()) });

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  next_cursor: string | null;
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** What one element of a cursor must be; each says whether a decoded value is one. */
export type CursorPart<T> = (v: unknown) => v is T;

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const WIRE_US = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A real instant Postgres accepts: JS rolls 2026-02-30 over to March 2 and takes year 0000 (1 BC),
 * Postgres refuses both (which was a 500): compare back, and start at year 1.
 */
const realInstant = (s: string) => {
  const d = new Date(s);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 23) === s.slice(0, 23) && !s.startsWith("0000");
};

/** The largest value of a Postgres `integer` column. */
export const PG_INT_MAX = 2 ** 31 - 1;

/** The parts cursors are made of; every listing's cursor is checked here, so a forged one is a 400. */
export const cursorPart = {
  /** A timestamp as `Date.toISOString()` writes it. */
  isoTime: (v: unknown): v is string => typeof v === "string" && ISO_MS.test(v) && realInstant(v),
  /** A timestamp in the wire format, with microseconds (`isoUtc` in SQL). */
  wireTime: (v: unknown): v is string => typeof v === "string" && WIRE_US.test(v) && realInstant(v),
  /** Either: listings whose cursors had milliseconds still take the ones clients hold. */
  anyTime: (v: unknown): v is string => cursorPart.wireTime(v) || cursorPart.isoTime(v),
  uuid: (v: unknown): v is string => typeof v === "string" && UUID.test(v),
  /** A safe integer from `min` to `max` (the column's range: PG_INT_MAX for an `integer`). */
  int:
    (min: number, max = Number.MAX_SAFE_INTEGER) =>
    (v: unknown): v is number =>
      typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max,
  oneOf:
    <const T extends string>(...values: T[]) =>
    (v: unknown): v is T =>
      typeof v === "string" && (values as string[]).includes(v),
};

const invalidCursor = (message = "not a cursor this API returned") =>
  new ValidationError("Invalid cursor", [{ field: "query.cursor", message }]);

/**
 * The key a cursor carries, each element checked by its part; undefined without a cursor. Throws
 * a ValidationError (400 on `query.cursor`) for anything this API did not return.
 *
 * @example
 *   const after = decodeCursor(q.cursor, [cursorPart.wireTime, cursorPart.uuid]); // [string, string] | undefined
 */
export function decodeCursor<const P extends readonly CursorPart<unknown>[]>(
  cursor: string | undefined,
  parts: P,
): { -readonly [K in keyof P]: P[K] extends CursorPart<infer T> ? T : never } | undefined {
  if (cursor === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor();
  }
  if (Array.isArray(v) && v.length === parts.length && v.every((x, i) => parts[i]?.(x)))
    return v as { -readonly [K in keyof P]: P[K] extends CursorPart<infer T> ? T : never };
  throw invalidCursor();
}

export { invalidCursor };

/** Fetch limit + 1 rows; this trims the extra one and builds the next cursor from the last row kept. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}

/**
 * A page of rows that carried their cursor's time in `page_at` (wire text, microseconds), without
 * it: rows sharing a millisecond are neither skipped nor repeated across pages.
 *
 * @example
 *   return pageWithoutKey(toPage(rows, q.limit, (r) => [r.page_at, r.id]));
 */
export function pageWithoutKey<T extends { page_at: string }>(page: Page<T>): Page<Omit<T, "page_at">> {
  return { data: page.data.map(({ page_at: _, ...row }) => row), next_cursor: page.next_cursor };
}
