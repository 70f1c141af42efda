/**
 * Health of S3 without the S3 client: an unsigned `HEAD` of the bucket. S3 answers it without
 * credentials (403 for a private bucket, 404 when there is no such bucket), so it proves that S3
 * answers and that the bucket exists, and `GET /health` does not carry the AWS SDK (about 200 KB
 * of S3 client and its credential providers) for one probe. It does not prove that this
 * function's credentials may use the bucket: the export paths report that themselves
 * (`s3.error`, `s3.unavailable`) when they run.
 */
import { config } from "../config.ts";
import { AppError } from "../errors.ts";
import { isTransientAwsError, sdkErrorName } from "./aws.ts";

/** The bucket's URL: path-style with an endpoint override (s3rver), virtual-hosted on AWS. */
export function bucketUrl(): string {
  const c = config().s3;
  const bucket = encodeURIComponent(c.bucket);
  if (c.endpoint) return `${c.endpoint.replace(/\/+$/, "")}/${bucket}`;
  return c.forcePathStyle
    ? `https://s3.${c.region}.amazonaws.com/${bucket}`
    : `https://${bucket}.s3.${c.region}.amazonaws.com/`;
}

/** Health: the bucket exists and S3 answers (unsigned HEAD). Throws an AppError otherwise. */
export async function checkS3(signal?: AbortSignal): Promise<void> {
  let status: number;
  try {
    const res = await fetch(bucketUrl(), { method: "HEAD", signal, redirect: "manual" });
    status = res.status;
  } catch (e) {
    if (signal?.aborted) throw e;
    // fetch wraps the socket error: `TypeError: fetch failed` with the ECONNREFUSED in its cause.
    const cause = (e as { cause?: unknown }).cause ?? e;
    throw new AppError(
      "unavailable",
      "s3.unavailable",
      `S3 cannot be reached (${sdkErrorName(cause)}) during HeadBucket`,
      {
        cause: e,
      },
    );
  }
  // 403: the bucket exists and is private, which it is; 2xx: it exists and answered.
  if ((status >= 200 && status < 300) || status === 403) return;
  if (status === 404) {
    throw new AppError("unavailable", "s3.no_such_bucket", `S3 bucket ${config().s3.bucket} does not exist`, {
      retryable: false,
    });
  }
  const shape = { $metadata: { httpStatusCode: status } };
  if (isTransientAwsError(shape)) {
    throw new AppError("unavailable", "s3.unavailable", `S3 answered ${status} during HeadBucket`);
  }
  // 301/307: the bucket is in another region than AWS_REGION; 400: a name S3 refuses.
  throw new AppError("internal", "s3.error", `S3 HeadBucket failed (${status})`, { retryable: false });
}
