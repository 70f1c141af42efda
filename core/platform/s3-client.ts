/**
 * The process's S3 client and what every S3 call shares: the SDK loaded with `import()` on first
 * use (never at module scope, so handlers that never touch S3 do not parse it at cold start),
 * S3's limits, and the mapping of SDK errors to AppErrors. Callers use storage.ts.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { config } from "../config.ts";
import { AppError, NotFoundError } from "../errors.ts";
import { awsClientOptions, httpStatusOf, isTransientAwsError, sdkErrorName } from "./aws.ts";

export type S3Sdk = typeof import("@aws-sdk/client-s3");
export interface S3 {
  sdk: S3Sdk;
  client: S3Client;
  bucket: string;
}

/** S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 of them. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_TTL_S = 7 * 24 * 3600;

let s3Promise: Promise<S3> | undefined;

export function s3(): Promise<S3> {
  s3Promise ??= (async () => {
    const sdk = await import("@aws-sdk/client-s3");
    const c = config().s3;
    const client = new sdk.S3Client({ ...awsClientOptions(c.endpoint, c.region), forcePathStyle: c.forcePathStyle });
    return { sdk, client, bucket: c.bucket };
  })().catch((e: unknown) => {
    s3Promise = undefined;
    throw e;
  });
  return s3Promise;
}

/** Drop the client (tests and the local runtime call it after changing the configuration). */
export async function closeS3(): Promise<void> {
  const p = s3Promise;
  s3Promise = undefined;
  if (p) (await p.catch(() => undefined))?.client.destroy();
}

/** Map an SDK error to the AppError tree; `key` names the object in not-found messages. */
export function s3Error(e: unknown, op: string, key?: string): AppError {
  if (e instanceof AppError) return e;
  const name = sdkErrorName(e);
  const status = httpStatusOf(e);
  // HEAD answers 404 without a body, so the SDK can only call it "NotFound".
  if (name === "NoSuchKey" || (name === "NotFound" && key !== undefined)) {
    return Object.assign(new NotFoundError("object", key, "s3.not_found"), { cause: e });
  }
  if (name === "NoSuchBucket" || name === "NotFound") {
    return new AppError("unavailable", "s3.no_such_bucket", `S3 bucket ${config().s3.bucket} does not exist`, {
      cause: e,
      retryable: false,
    });
  }
  if (isTransientAwsError(e)) {
    const why = status ? `answered ${status} (${name})` : `cannot be reached (${name})`;
    return new AppError("unavailable", "s3.unavailable", `S3 ${why} during ${op}`, { cause: e });
  }
  return new AppError("internal", "s3.error", `S3 ${op} failed: ${name}${status ? ` (${status})` : ""}`, { cause: e });
}

export const unquote = (etag: string | undefined) => (etag ?? "").replace(/^"|"$/g, "");

export interface StoredObject {
  key: string;
  bytes: number;
  /** Without the surrounding quotes S3 puts on it. */
  etag: string;
}
