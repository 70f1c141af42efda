/**
 * The one path that writes a generated file (an export, an archive, an aggregate) to S3 and says
 * what it wrote: bytes through gzip (level 1, when asked) and a SHA-256 / byte counter into
 * `uploadStream`, with backpressure all the way. The hash is of the object's bytes as stored
 * (compressed, when gzipped), so anyone holding the object can check it. Exported through
 * storage.ts.
 *
 * Idempotent by construction: a caller that derives the key from what it writes (a day, a run)
 * and writes the same rows in the same order gets the same bytes and the same SHA-256 again
 * (node's gzip header carries no time), so a rerun overwrites the object with itself.
 */
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { StoredObject } from "./s3-client.ts";
import { uploadStream } from "./s3-upload.ts";

export interface HashedObject extends StoredObject {
  /** SHA-256 (hex) of the object's bytes as stored. */
  sha256: string;
}

export interface HashedUploadOptions {
  /** Compress with gzip level 1 (the object's content type is then application/gzip). */
  gzip: boolean;
  /** The content type of the uncompressed bytes. */
  contentType: string;
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Stream `source` to S3 under `key` (gzipped when asked), counting and hashing what is stored.
 *
 * @example
 *   const { bytes, sha256 } = await uploadHashed(key, rows, { gzip: true, contentType: "text/csv" });
 */
export async function uploadHashed(
  key: string,
  source: AsyncIterable<Uint8Array | string>,
  o: HashedUploadOptions,
): Promise<HashedObject> {
  const hash = createHash("sha256");
  let bytes = 0;
  async function* measure(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
    for await (const raw of chunks) {
      const chunk =
        typeof raw === "string" ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  }
  let stored: StoredObject | undefined;
  const upload = async (chunks: AsyncIterable<Buffer>) => {
    stored = await uploadStream(key, chunks, {
      contentType: o.gzip ? "application/gzip" : o.contentType,
      metadata: o.metadata,
      signal: o.signal,
    });
  };
  if (o.gzip) await pipeline(source, createGzip({ level: 1, chunkSize: 64 * 1024 }), measure, upload);
  else await pipeline(source, measure, upload);
  return { key, bytes, etag: stored?.etag ?? "", sha256: hash.digest("hex") };
}

/** Lines are gathered into chunks of about this many bytes before gzip. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Write `rows` as JSONL (one `JSON.stringify` per line, `\n` after each) to `key` through
 * `uploadHashed`; the object with its row count. Rows are read lazily, so an async source of
 * pages keeps memory flat. The bytes depend only on the rows and their key order.
 *
 * @example
 *   const out = await writeJsonl(`archives/${runId}.jsonl.gz`, pagesOfOps(), { gzip: true });
 */
export async function writeJsonl(
  key: string,
  rows: Iterable<unknown> | AsyncIterable<unknown>,
  o: { gzip: boolean; metadata?: Record<string, string>; signal?: AbortSignal },
): Promise<HashedObject & { rows: number }> {
  let count = 0;
  async function* lines(): AsyncGenerator<string> {
    let buf = "";
    for await (const row of rows) {
      buf += `${JSON.stringify(row)}\n`;
      count++;
      if (buf.length >= CHUNK_BYTES) {
        yield buf;
        buf = "";
      }
    }
    if (buf.length > 0) yield buf;
  }
  const out = await uploadHashed(key, lines(), {
    gzip: o.gzip,
    contentType: "application/x-ndjson; charset=utf-8",
    metadata: o.metadata,
    signal: o.signal,
  });
  return { ...out, rows: count };
}
