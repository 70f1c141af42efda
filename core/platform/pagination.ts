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

/** A real instant: JS rolls 2026-02-30 over to March 2, Postgres refuses it (a 500): compare back. */
const realInstant = (s: string) => {
  const d = new Date(s);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 23) === s.slice(0, 23);
};

/** The parts cursors are made of; every listing's cursor is checked here, so a forged one is a 400. */
export const cursorPart = {
  /** A timestamp as `Date.toISOString()` writes it. */
  isoTime: (v: unknown): v is string => typeof v === "string" && ISO_MS.test(v) && realInstant(v),
  /** A timestamp in the wire format, with microseconds (`isoUtc` in SQL). */
  wireTime: (v: unknown): v is string => typeof v === "string" && WIRE_US.test(v) && realInstant(v),
  uuid: (v: unknown): v is string => typeof v === "string" && UUID.test(v),
  /** A safe integer of at least `min`. */
  int:
    (min: number) =>
    (v: unknown): v is number =>
      typeof v === "number" && Number.isSafeInteger(v) && v >= min,
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
 *   const after = decodeCursor(q.cursor, [cursorPart.isoTime, cursorPart.uuid]); // [string, string] | undefined
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
