/**
 * How messages become SQS batch entries: JSON bodies made safe for SQS, measured, and split into
 * batches by count and by total size. Pure functions, used by queue.ts.
 */
import { ValidationError } from "../errors.ts";

/** SQS counts a message's size as its body's UTF-8 bytes (plus attributes, which AOS does not send). */
export const MAX_MESSAGE_BYTES = 262_144;
/** The sum of all message sizes in one SendMessageBatch call. */
export const MAX_BATCH_BYTES = 262_144;
export const MAX_BATCH_ENTRIES = 10;
export interface Entry {
  index: number;
  body: string;
  bytes: number;
}

/**
 * SQS refuses U+FFFE and U+FFFF in a body, and fauxqs (1.9.2) also refuses characters beyond
 * U+FFFF such as emoji, which real SQS accepts. JSON.stringify leaves all of them raw; written as
 * \u escapes they are plain ASCII and JSON.parse gives back the same string, so a JSON body
 * never fails for its characters, locally or on AWS. (Lone surrogates JSON.stringify escapes
 * itself, so the surrogates left here come in pairs.)
 */
const sqsUnsafe = /[\uD800-\uDFFF\uFFFE\uFFFF]/g;

export function serialize(body: unknown, index: number): Entry {
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (e) {
    throw new ValidationError(`message ${index} cannot be serialized as JSON: ${(e as Error).message}`, [
      { field: `bodies.${index}`, message: "not serializable" },
    ]);
  }
  if (json === undefined) {
    throw new ValidationError(`message ${index} has no JSON form (undefined or a function)`, [
      { field: `bodies.${index}`, message: "not serializable" },
    ]);
  }
  const safe = json.replace(sqsUnsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { index, body: safe, bytes: Buffer.byteLength(safe, "utf8") };
}

/** Greedy split: a batch closes when it has 10 entries or the next one would pass 256 KiB. */
export function splitBatches<T extends { bytes: number }>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const e of entries) {
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && size + e.bytes > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += e.bytes;
  }
  if (current.length) batches.push(current);
  return batches;
}
