/** Settings of the platform (core/platform): stage, logs, Postgres, Redis, S3, SQS, metrics. */
import { bool, declareSettings, int, oneOf, text, url } from "./declare.ts";

/** Read only to learn whether the SDK's default credential chain has something to find. */
/** The two roles of a local AOS (`npm start` creates them; docs/decisions/0011-db-roles.md). */
export const LOCAL_APP_URL = "postgres://aos_app@127.0.0.1:5432/aos";
export const LOCAL_OWNER_URL = "postgres://aos_owner@127.0.0.1:5432/aos";

const LIKEWISE = "likewise: only whether it is set is read (see `AWS_ACCESS_KEY_ID`)";

// biome-ignore format: one line per setting
export const platform = declareSettings("platform", {
  stage: text("STAGE", "dev", "stage name; prefixes every Redis key (`aos:<stage>:`) and the default bucket name", { pattern: /^[a-z0-9-]+$/ }),
  logLevel: oneOf("LOG_LEVEL", ["debug", "info", "warn", "error", "silent"], "info", "least severe level logged"),
  databaseUrl: text("DATABASE_URL", LOCAL_APP_URL, "Postgres, as the application role: it reads and writes rows, never changes the schema, and may only INSERT and SELECT on append-only tables (docs/decisions/0011-db-roles.md)", { link: "DatabaseUrl.value" }),
  databaseMigrationUrl: text("DATABASE_MIGRATION_URL", undefined, "Postgres, as the owner role: `aos migrate` and `npm start` run migrations with it, then grant the application role its privileges. On Neon the direct URL (the `-pooler` one cannot hold advisory locks)", { shownDefault: "`postgres://aos_owner@127.0.0.1:5432/aos` while `DATABASE_URL` is its default; else `DATABASE_URL` (one role for both: no split)" }),
  databaseAppRole: text("DATABASE_APP_ROLE", undefined, "the role the migrations grant the application's privileges to", { pattern: /^[A-Za-z0-9_$.-]{1,63}$/, shownDefault: "the user of `DATABASE_URL`" }),
  dbDriver: oneOf("DB_DRIVER", ["pg", "neon"], "pg", "`pg` (node-postgres) or `neon` (`@neondatabase/serverless` WebSocket Pool)"),
  dbPoolMax: int("DB_POOL_MAX", 10, "connections per process", { min: 1 }),
  dbStatementTimeoutMs: int("DB_STATEMENT_TIMEOUT_MS", 15_000, "`statement_timeout` of every connection (0: send none, the role's setting applies; for poolers that refuse startup parameters)"),
  dbConnectTimeoutMs: int("DB_CONNECT_TIMEOUT_MS", 5_000, "how long a statement waits for a connection (a free one of the pool, or a new one) before it fails with 503 `db.unavailable`", { min: 1 }),
  dbQueryTimeoutMs: int("DB_QUERY_TIMEOUT_MS", undefined, "client-side bound of one statement's round trip: a database that stops answering (which never trips `statement_timeout`) fails the statement with 503 `db.unavailable` after this long and its connection is closed; keep it above `DB_STATEMENT_TIMEOUT_MS` (the default is that + 1000, or 16000 when it is 0); 0: none", { shownDefault: "statement timeout + 1000" }),
  dbTxRetries: int("DB_TX_RETRIES", 5, "retries of a transaction after a serialization failure or deadlock"),
  /** Send hot-path statements by name (prepared once per connection). */
  dbPrepare: bool("DB_PREPARE", true, "send the hot statements of claiming and completing items by name (prepared once per connection); `false` for a pooler that cannot keep prepared statements"),
  redisUrl: text("REDIS_URL", "redis://127.0.0.1:6379", "Redis (`redis://` or `rediss://` for TLS; user, password and database number in the URL)", { link: "RedisUrl.value" }),
  redisCommandTimeoutMs: int("REDIS_COMMAND_TIMEOUT_MS", 200, "deadline of a Redis command or pipeline, connecting included; past it the request goes on without Redis (caches fall back to Postgres, `kv_store` answers 503)", { min: 10 }),
  redisBackoffMs: int("REDIS_BACKOFF_MS", 1000, "after Redis failed or timed out, how long commands fail at once without trying; the first command after it reconnects", { min: 0 }),
  s3: {
    endpoint: url("S3_ENDPOINT", undefined, "S3 endpoint override, e.g. s3rver; implies path-style addressing", { shownDefault: "(AWS)" }),
    bucket: text("S3_BUCKET", undefined, "bucket of exports", { minLength: 3, link: "Exports.name", shownDefault: "`aos-exports-<stage>`" }),
    forcePathStyle: bool("S3_FORCE_PATH_STYLE", undefined, "path-style S3 URLs", { shownDefault: "`true` when `S3_ENDPOINT` is set" }),
    presignTtlS: int("PRESIGN_TTL_S", 3600, "lifetime of presigned download URLs (status history downloads)", { min: 1 }),
  },
  sqs: {
    endpoint: url("SQS_ENDPOINT", undefined, "SQS endpoint override, e.g. fauxqs", { shownDefault: "(AWS)" }),
    queueUrls: text("QUEUE_URLS", "{}", 'JSON object queue name -> URL (`{"Events":"http://..."}`); set by `npm start` and the tests; when deployed, each linked `<Name>Queue` adds its URL'),
  },
  aws: {
    region: text("AWS_REGION", "us-east-1", "region of S3 and SQS"),
    accessKeyId: text("AWS_ACCESS_KEY_ID", undefined, "only whether it is set is read (likewise the four below): with none of them and an endpoint override, S3 and SQS sign with dummy keys (S3RVER/S3RVER)"),
    profile: text("AWS_PROFILE", undefined, LIKEWISE),
    webIdentityTokenFile: text("AWS_WEB_IDENTITY_TOKEN_FILE", undefined, LIKEWISE),
    containerCredentialsFullUri: text("AWS_CONTAINER_CREDENTIALS_FULL_URI", undefined, LIKEWISE),
    containerCredentialsRelativeUri: text("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", undefined, LIKEWISE),
  },
  metrics: {
    enabled: bool("METRICS_ENABLED", true, "record and flush metrics"),
    maxLabelValues: int("METRICS_MAX_LABEL_VALUES", 50, "distinct values a metric label may take before new ones become `other`", { min: 1 }),
  },
});
