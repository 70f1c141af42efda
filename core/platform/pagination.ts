/**
 * Keyset pagination with opaque cursors: a cursor is the sort key of the last row of a page,
 * base64url-encoded JSON. Clients pass it back unchanged; a tampered cursor is a 400.
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

export function decodeCursor(
  cursor: string | undefined,
  shape: readonly ("string" | "number")[],
): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === shape.length && v.every((x, i) => typeof x === shape[i])) return v;
  } catch {}
  throw new ValidationError("Invalid cursor", [{ field: "query.cursor", message: "not a cursor this API returned" }]);
}

/** Fetch limit + 1 rows; this trims the extra one and builds the next cursor from the last row kept. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
