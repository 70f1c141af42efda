/**
 * What the S3 and SQS clients share: how they are configured from `config()` and how an SDK
 * error is classified. This file imports no `@aws-sdk/*` module; storage.ts and queue.ts load
 * the SDK with `import()` on first use, so a handler that never touches S3 or SQS never pays for
 * parsing it at cold start.
 */
import { config } from "../config.ts";

/** s3rver accepts these; fauxqs accepts anything. */
const localCredentials = Object.freeze({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });

export interface AwsClientOptions {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Region and endpoint override, plus static dummy credentials when an endpoint override is set
 * and the environment names no AWS credentials (local emulators). Otherwise the SDK's default
 * provider chain applies (in Lambda: the function role's keys from the environment).
 */
export function awsClientOptions(endpoint: string | undefined, region: string): AwsClientOptions {
  const o: AwsClientOptions = { region };
  if (endpoint) {
    o.endpoint = endpoint;
    if (!config().aws.credentialsInEnv) o.credentials = { ...localCredentials };
  }
  return o;
}

/** Node socket errors that mean "the service cannot be reached". */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
]);
const throttlingNames = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "KmsThrottled",
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

export function sdkErrorName(e: unknown): string {
  const err = (e ?? {}) as SdkErrorShape;
  if (typeof err.code === "string" && networkCodes.has(err.code)) return err.code;
  return typeof err.name === "string" && err.name !== "Error" ? err.name : (err.code ?? "Error");
}

export function httpStatusOf(e: unknown): number | undefined {
  return ((e ?? {}) as SdkErrorShape).$metadata?.httpStatusCode;
}

/**
 * True when the failure is the service's or the network's (5xx, throttling, a socket error, a
 * timeout): trying again later may work. False for the caller's own mistakes (4xx).
 */
export function isTransientAwsError(e: unknown): boolean {
  const err = (e ?? {}) as SdkErrorShape;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (err.$fault === "server" || err.$retryable) return true;
  if (typeof err.name === "string" && (throttlingNames.has(err.name) || err.name === "TimeoutError")) return true;
  if (typeof err.code === "string" && networkCodes.has(err.code)) return true;
  // Responses that were not S3/SQS at all (a proxy's HTML error page) and sockets closed mid-body.
  return /socket hang up|ECONNRESET|ECONNREFUSED|other side closed|premature close/i.test(err.message ?? "");
}

/** An abort requested through the caller's AbortSignal, as opposed to a failure. */
export function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return Boolean(signal?.aborted) && (e === signal?.reason || (e as { name?: string } | null)?.name === "AbortError");
}
