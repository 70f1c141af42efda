/**
 * S3 storage: streaming multipart upload, plain put/get/head/delete, presigned GET links and a
 * health check (s3-health.ts, without the SDK), against `config().s3` (endpoint override and path style for s3rver locally).
 *
 * The SDK is loaded with `import()` on the first call and the client is created once per
 * process, so a handler that imports this module but never touches S3 does not parse the SDK at
 * cold start. Every failure leaves as an AppError: `not_found` (`s3.not_found`) for a missing
 * key, `unavailable` (`s3.unavailable`) for network errors, throttling and 5xx.
 *
 * @example
 *   const { bytes } = await uploadStream(`exports/${id}.jsonl`, rows, { contentType: "application/x-ndjson" });
 *   const url = await presignGet(`exports/${id}.jsonl`, { filename: "audit.jsonl" });
 */
import type { Readable } from "node:stream";
import { config } from "../config.ts";
import { ValidationError } from "../errors.ts";
import { MAX_PRESIGN_TTL_S, type StoredObject, s3, s3Error, unquote } from "./s3-client.ts";

export { closeS3, MIN_PART_BYTES, type StoredObject, s3Error } from "./s3-client.ts";
export { type HashedObject, type HashedUploadOptions, uploadHashed, writeJsonl } from "./s3-hashed-upload.ts";
export { checkS3 } from "./s3-health.ts";
export { type UploadOptions, uploadStream } from "./s3-upload.ts";

export interface PutOptions {
  contentType: string;
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

/** Store a body that is already in memory. */
export async function putObject(key: string, body: Uint8Array | string, o: PutOptions): Promise<StoredObject> {
  const { sdk, client, bucket } = await s3();
  try {
    const r = await client.send(
      new sdk.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: o.contentType,
        Metadata: o.metadata,
      }),
      { abortSignal: o.signal },
    );
    return { key, bytes: typeof body === "string" ? Buffer.byteLength(body) : body.byteLength, etag: unquote(r.ETag) };
  } catch (e) {
    throw s3Error(e, "put", key);
  }
}

export interface ObjectInfo {
  key: string;
  bytes: number;
  etag: string;
  contentType: string | undefined;
  metadata: Record<string, string>;
  lastModified: Date | undefined;
}

export interface ObjectStream extends ObjectInfo {
  /** The object's bytes; read it to the end or destroy it, or the connection stays taken. */
  body: Readable;
}

interface ObjectHeaders {
  ContentLength?: number;
  ETag?: string;
  ContentType?: string;
  Metadata?: Record<string, string>;
  LastModified?: Date;
}

function info(key: string, r: ObjectHeaders): ObjectInfo {
  return {
    key,
    bytes: r.ContentLength ?? 0,
    etag: unquote(r.ETag),
    contentType: r.ContentType,
    metadata: r.Metadata ?? {},
    lastModified: r.LastModified,
  };
}

/** Open an object as a stream. Throws `not_found` (`s3.not_found`) when the key does not exist. */
export async function getObject(key: string, o: { signal?: AbortSignal } = {}): Promise<ObjectStream> {
  const { sdk, client, bucket } = await s3();
  try {
    const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: o.signal });
    return { ...info(key, r), body: r.Body as Readable };
  } catch (e) {
    throw s3Error(e, "get", key);
  }
}

/** Size, ETag, type and metadata of an object. Throws `not_found` when the key does not exist. */
export async function headObject(key: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
  const { sdk, client, bucket } = await s3();
  try {
    return info(
      key,
      await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: o.signal }),
    );
  } catch (e) {
    throw s3Error(e, "head", key);
  }
}

/** Delete one object; deleting a key that does not exist succeeds, as in S3. */
export async function deleteObject(key: string): Promise<void> {
  const { sdk, client, bucket } = await s3();
  try {
    await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    throw s3Error(e, "delete", key);
  }
}

export interface DeleteResult {
  deleted: number;
  failed: { key: string; code: string; message: string }[];
}

/** Delete many objects, 1,000 per request (S3's limit); per-key failures are reported, not thrown. */
export async function deleteObjects(keys: readonly string[]): Promise<DeleteResult> {
  const result: DeleteResult = { deleted: 0, failed: [] };
  if (keys.length === 0) return result;
  const { sdk, client, bucket } = await s3();
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    try {
      const r = await client.send(
        new sdk.DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const errors = r.Errors ?? [];
      result.deleted += chunk.length - errors.length;
      for (const err of errors) {
        result.failed.push({ key: err.Key ?? "", code: err.Code ?? "Unknown", message: err.Message ?? "" });
      }
    } catch (e) {
      throw s3Error(e, "delete", undefined);
    }
  }
  return result;
}

export interface PresignOptions {
  /** Seconds the link works (default PRESIGN_TTL_S; at most 7 days). */
  ttlS?: number;
  /** Offer the download under this name (Content-Disposition: attachment). */
  filename?: string;
}

/**
 * A GET URL for `key` that works without credentials until it expires (`X-Amz-Expires=<ttlS>`).
 * Signing is local: nothing is sent to S3 and the key's existence is not checked.
 */
export async function presignGet(key: string, o: PresignOptions = {}): Promise<string> {
  const ttlS = o.ttlS ?? config().s3.presignTtlS;
  if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_PRESIGN_TTL_S) {
    throw new ValidationError(`ttlS must be an integer from 1 to ${MAX_PRESIGN_TTL_S}`, [], "storage.invalid_ttl");
  }
  const [{ sdk, client, bucket }, { getSignedUrl }] = await Promise.all([
    s3(),
    import("@aws-sdk/s3-request-presigner"),
  ]);
  const command = new sdk.GetObjectCommand({
    Bucket: bucket,
    Key: key,
    ResponseContentDisposition: o.filename ? contentDisposition(o.filename) : undefined,
  });
  try {
    return await getSignedUrl(client, command, { expiresIn: ttlS });
  } catch (e) {
    throw s3Error(e, "presign", key);
  }
}

/** RFC 6266: an ASCII fallback name plus the exact name percent-encoded as UTF-8. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const exact = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
