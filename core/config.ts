/**
 * Configuration, parsed once from the environment with zod and frozen.
 *
 * This is the only module that reads `process.env`. Every variable is documented in the README
 * (section "Configuration") with its default; keep the two in step.
 *
 * @example
 *   import { config } from "../config.ts";
 *   const pool = createPool(config().databaseUrl);
 */
import { Resource } from "sst/resource";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini (a fraction of the classic API's size, since every Lambda bundles it) ships without
// messages; load the English ones once, here, for every schema of the process.
z.config(en());

const bool = z.pipe(
  z.enum(["1", "0", "true", "false", "yes", "no"]),
  z.transform((v) => v === "1" || v === "true" || v === "yes"),
);
const int = (def: number, min = 0) => z._default(z.coerce.number().check(z.int(), z.minimum(min)), def);
const str = (def: string) => z._default(z.string().check(z.minLength(1)), def);
const opt = z.optional(z.string());
const url = z.string().check(z.url());

const ConfigSchema = z.object({
  STAGE: z._default(z.string().check(z.regex(/^[a-z0-9-]+$/)), "dev"),
  LOG_LEVEL: z._default(z.enum(["debug", "info", "warn", "error", "silent"]), "info"),
  DATABASE_URL: str("postgres://postgres@127.0.0.1:5432/aos"),
  DB_DRIVER: z._default(z.enum(["pg", "neon"]), "pg"),
  DB_POOL_MAX: int(10, 1),
  DB_STATEMENT_TIMEOUT_MS: int(15_000, 0),
  DB_TX_RETRIES: int(5, 0),
  DB_PREPARE: z._default(bool, true),
  REDIS_URL: str("redis://127.0.0.1:6379"),
  S3_ENDPOINT: z.optional(url),
  S3_BUCKET: z.optional(z.string().check(z.minLength(3))),
  S3_FORCE_PATH_STYLE: z.optional(bool),
  AWS_REGION: str("us-east-1"),
  // Read only to learn whether the SDK's default credential chain has something to find; the
  // values themselves stay with the SDK.
  AWS_ACCESS_KEY_ID: opt,
  AWS_PROFILE: opt,
  AWS_WEB_IDENTITY_TOKEN_FILE: opt,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: opt,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: opt,
  PRESIGN_TTL_S: int(3600, 1),
  SQS_ENDPOINT: z.optional(url),
  QUEUE_URLS: str("{}"),
  PORT: int(3000, 0),
  HOST: str("127.0.0.1"),
  METRICS_ENABLED: z._default(bool, true),
  METRICS_MAX_LABEL_VALUES: int(50, 1),
  AUTH_CACHE_TTL_S: int(30, 0),
  // Status history exports: hours an export stays downloadable (the bucket's 7-day expiry of
  // exports/ is the backstop, so more than 168 would be cut short), attempts before it is failed.
  EXPORT_TTL_H: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(168)), 168),
  EXPORT_MAX_ATTEMPTS: int(5, 1),
  // Skills (core/skills): circuit breakers, retries, outbound HTTP, idempotency, kv_store.
  SKILL_BREAKER_FAILURE_THRESHOLD: int(5, 1),
  SKILL_BREAKER_COOLDOWN_S: int(60, 1),
  SKILL_RETRY_MAX_ATTEMPTS: int(3, 1),
  SKILL_RETRY_BASE_MS: int(200, 0),
  SKILL_RETRY_MAX_MS: int(5000, 0),
  SKILL_RETRY_AFTER_MAX_S: int(30, 0),
  SKILL_HTTP_TIMEOUT_MS: int(10_000, 1),
  SKILL_HTTP_MAX_RESPONSE_BYTES: int(1_048_576, 1),
  SKILL_OUTBOUND_ALLOW_HOSTS: z._default(z.string(), ""),
  SKILL_IDEMPOTENCY_TTL_H: int(24, 1),
  SKILL_KV_MAX_VALUE_BYTES: int(65_536, 1),
  SKILL_KV_MAX_TTL_S: int(2_592_000, 1),
  // Secrets (SST secrets SlackWebhookUrl, WebhookSigningSecret, VoyageApiKey when deployed).
  SLACK_WEBHOOK_URL: z.optional(url),
  WEBHOOK_SIGNING_SECRET: z.optional(z.string().check(z.minLength(32))),
  VOYAGE_API_KEY: opt,
  VOYAGE_BASE_URL: z._default(url, "https://api.voyageai.com"),
  VOYAGE_MAX_BATCH: int(1000, 1),
  VOYAGE_MAX_RESPONSE_BYTES: int(67_108_864, 1),
  // Jobs: the most items of one tenant's job in flight at once (simulate warns above it).
  JOBS_MAX_PARALLELISM: int(50, 1),
  AOS_URL: z._default(url, "http://127.0.0.1:3000"),
  AOS_KEY: opt,
  AOS_DATA_DIR: str(".aos"),
  // Local runtime (`npm start`) only: ports of the in-process S3 and SQS emulators (0 = any free port).
  LOCAL_S3_PORT: int(4569, 0),
  LOCAL_SQS_PORT: int(4576, 0),
});

export interface Config {
  readonly stage: string;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly databaseUrl: string;
  readonly dbDriver: "pg" | "neon";
  readonly dbPoolMax: number;
  readonly dbStatementTimeoutMs: number;
  readonly dbTxRetries: number;
  /** Send hot-path statements by name (prepared once per connection). */
  readonly dbPrepare: boolean;
  readonly redisUrl: string;
  /** Prefix of every Redis key, so stages sharing one Redis never collide. */
  readonly redisPrefix: string;
  readonly s3: {
    readonly endpoint: string | undefined;
    readonly bucket: string;
    readonly forcePathStyle: boolean;
    readonly region: string;
    readonly presignTtlS: number;
  };
  readonly sqs: {
    readonly endpoint: string | undefined;
    readonly region: string;
    /** Queue name (as in functions/routes.ts) -> queue URL. */
    readonly queueUrls: Readonly<Record<string, string>>;
  };
  readonly aws: {
    /**
     * The environment names AWS credentials (keys, a profile, web identity or a container
     * endpoint; always true in Lambda). When false and an endpoint override is set, the S3 and
     * SQS clients sign with static dummy credentials, which s3rver and fauxqs accept.
     */
    readonly credentialsInEnv: boolean;
  };
  readonly http: { readonly port: number; readonly host: string };
  readonly metrics: { readonly enabled: boolean; readonly maxLabelValues: number };
  readonly authCacheTtlS: number;
  readonly exports: { readonly ttlH: number; readonly maxAttempts: number };
  readonly skills: {
    readonly breaker: { readonly failureThreshold: number; readonly cooldownS: number };
    readonly retry: {
      readonly maxAttempts: number;
      readonly baseMs: number;
      readonly maxMs: number;
      /** A Retry-After longer than this is not waited for: the call fails, retryable, with it. */
      readonly retryAfterMaxS: number;
    };
    readonly http: {
      readonly timeoutMs: number;
      readonly maxResponseBytes: number;
      /** Hosts (`host` or `host:port`, lower case) exempt from the SSRF guard of request-supplied URLs. */
      readonly allowHosts: readonly string[];
    };
    readonly idempotencyTtlH: number;
    readonly kv: { readonly maxValueBytes: number; readonly maxTtlS: number };
    readonly slack: { readonly webhookUrl: string | undefined };
    readonly webhook: { readonly signingSecret: string | undefined };
    readonly voyage: {
      readonly apiKey: string | undefined;
      readonly baseUrl: string;
      readonly maxBatch: number;
      readonly maxResponseBytes: number;
    };
  };
  readonly jobs: { readonly maxParallelism: number };
  readonly cli: { readonly url: string; readonly key: string | undefined };
  readonly dataDir: string;
  /** Local runtime only: where s3rver and fauxqs listen when S3_ENDPOINT / SQS_ENDPOINT are not set. */
  readonly local: { readonly s3Port: number; readonly sqsPort: number };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * SST links (secrets DatabaseUrl and RedisUrl, the Exports bucket, each `<Name>Queue`) reach a
 * deployed Lambda through `Resource`; outside SST the proxy is empty and `in` is false.
 */
type Linked = Record<string, { value?: string; name?: string; url?: string } | undefined>;
function linkedResources(): Linked {
  const out: Linked = {};
  for (const key of Object.keys(Resource)) out[key] = (Resource as unknown as Linked)[key];
  return out;
}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const res = env === process.env ? linkedResources() : {};
  const input: Record<string, string | undefined> = { ...env };
  input.DATABASE_URL ??= res.DatabaseUrl?.value;
  input.REDIS_URL ??= res.RedisUrl?.value;
  input.S3_BUCKET ??= res.Exports?.name;
  // The stacks give the skills' secrets the placeholder "unset" until `sst secret set` replaces it.
  const secret = (v: string | undefined) => (v === "unset" ? undefined : v);
  input.SLACK_WEBHOOK_URL ??= secret(res.SlackWebhookUrl?.value);
  input.WEBHOOK_SIGNING_SECRET ??= secret(res.WebhookSigningSecret?.value);
  input.VOYAGE_API_KEY ??= secret(res.VoyageApiKey?.value);
  const parsed = z.safeParse(ConfigSchema, input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  let queueUrls: Record<string, string>;
  try {
    queueUrls = z.parse(z.record(z.string(), z.string().check(z.minLength(1))), JSON.parse(e.QUEUE_URLS));
  } catch {
    throw new ConfigError('QUEUE_URLS must be a JSON object of queue name -> URL, e.g. {"Events":"http://..."}');
  }
  for (const [key, r] of Object.entries(res)) {
    const name = key.endsWith("Queue") ? key.slice(0, -"Queue".length) : undefined;
    if (name && r?.url && !queueUrls[name]) queueUrls[name] = r.url;
  }
  return Object.freeze({
    stage: e.STAGE,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dbDriver: e.DB_DRIVER,
    dbPoolMax: e.DB_POOL_MAX,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    dbTxRetries: e.DB_TX_RETRIES,
    dbPrepare: e.DB_PREPARE,
    redisUrl: e.REDIS_URL,
    redisPrefix: `aos:${e.STAGE}:`,
    s3: Object.freeze({
      endpoint: e.S3_ENDPOINT,
      bucket: e.S3_BUCKET ?? `aos-exports-${e.STAGE}`,
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? Boolean(e.S3_ENDPOINT),
      region: e.AWS_REGION,
      presignTtlS: e.PRESIGN_TTL_S,
    }),
    sqs: Object.freeze({ endpoint: e.SQS_ENDPOINT, region: e.AWS_REGION, queueUrls: Object.freeze(queueUrls) }),
    aws: Object.freeze({
      credentialsInEnv: Boolean(
        e.AWS_ACCESS_KEY_ID ||
          e.AWS_PROFILE ||
          e.AWS_WEB_IDENTITY_TOKEN_FILE ||
          e.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
          e.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
      ),
    }),
    http: Object.freeze({
      port: e.PORT,
      host: e.HOST,
    }),
    metrics: Object.freeze({ enabled: e.METRICS_ENABLED, maxLabelValues: e.METRICS_MAX_LABEL_VALUES }),
    authCacheTtlS: e.AUTH_CACHE_TTL_S,
    exports: Object.freeze({ ttlH: e.EXPORT_TTL_H, maxAttempts: e.EXPORT_MAX_ATTEMPTS }),
    skills: Object.freeze({
      breaker: Object.freeze({
        failureThreshold: e.SKILL_BREAKER_FAILURE_THRESHOLD,
        cooldownS: e.SKILL_BREAKER_COOLDOWN_S,
      }),
      retry: Object.freeze({
        maxAttempts: e.SKILL_RETRY_MAX_ATTEMPTS,
        baseMs: e.SKILL_RETRY_BASE_MS,
        maxMs: e.SKILL_RETRY_MAX_MS,
        retryAfterMaxS: e.SKILL_RETRY_AFTER_MAX_S,
      }),
      http: Object.freeze({
        timeoutMs: e.SKILL_HTTP_TIMEOUT_MS,
        maxResponseBytes: e.SKILL_HTTP_MAX_RESPONSE_BYTES,
        allowHosts: Object.freeze(
          e.SKILL_OUTBOUND_ALLOW_HOSTS.split(",")
            .map((h) => h.trim().toLowerCase())
            .filter(Boolean),
        ),
      }),
      idempotencyTtlH: e.SKILL_IDEMPOTENCY_TTL_H,
      kv: Object.freeze({ maxValueBytes: e.SKILL_KV_MAX_VALUE_BYTES, maxTtlS: e.SKILL_KV_MAX_TTL_S }),
      slack: Object.freeze({ webhookUrl: e.SLACK_WEBHOOK_URL }),
      webhook: Object.freeze({ signingSecret: e.WEBHOOK_SIGNING_SECRET }),
      voyage: Object.freeze({
        apiKey: e.VOYAGE_API_KEY,
        baseUrl: e.VOYAGE_BASE_URL.replace(/\/+$/, ""),
        maxBatch: e.VOYAGE_MAX_BATCH,
        maxResponseBytes: e.VOYAGE_MAX_RESPONSE_BYTES,
      }),
    }),
    jobs: Object.freeze({ maxParallelism: e.JOBS_MAX_PARALLELISM }),
    cli: Object.freeze({ url: e.AOS_URL, key: e.AOS_KEY }),
    dataDir: e.AOS_DATA_DIR,
    local: Object.freeze({ s3Port: e.LOCAL_S3_PORT, sqsPort: e.LOCAL_SQS_PORT }),
  });
}

let current: Config | undefined;

/** The process's configuration, parsed on first use and then frozen. */
export function config(): Config {
  current ??= parseConfig(process.env);
  return current;
}

let overrides: NodeJS.ProcessEnv = {};

/**
 * Override parts of the configuration for this process (the local runtime and the test harness
 * use it after they started their own Postgres, S3 and SQS). Overrides accumulate: a later call
 * changes only the variables it names. Call before any client is created.
 */
export function setConfig(more: NodeJS.ProcessEnv): Config {
  return replaceConfigOverrides({ ...overrides, ...more });
}

/** The overrides in force (a copy), so a caller can put them back with `replaceConfigOverrides`. */
export function configOverrides(): NodeJS.ProcessEnv {
  return { ...overrides };
}

/** Make `next` the whole set of overrides: a variable it does not name comes from the environment again. */
export function replaceConfigOverrides(next: NodeJS.ProcessEnv): Config {
  overrides = { ...next };
  current = parseConfig({ ...process.env, ...overrides });
  return current;
}
