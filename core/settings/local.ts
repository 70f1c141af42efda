/** Settings of `npm start` (local/) and of the `aos` CLI (cli/). */
import { declareSettings, int, text, url } from "./declare.ts";

// biome-ignore format: one line per setting
export const local = declareSettings("local runtime and CLI", {
  http: {
    port: int("PORT", 3000, "port of `npm start`"),
    host: text("HOST", "127.0.0.1", "address of `npm start`"),
  },
  cli: {
    url: url("AOS_URL", "http://127.0.0.1:3000", "where CLI commands that call the API send requests"),
    key: text("AOS_KEY", undefined, "the key those commands send"),
  },
  dataDir: text("AOS_DATA_DIR", ".aos", "where `npm start` keeps private Postgres/Redis data, s3rver objects and the dev tenant's admin key (`dev-admin-key`)"),
  /** Local runtime only: where s3rver and fauxqs listen when S3_ENDPOINT / SQS_ENDPOINT are not set. */
  local: {
    s3Port: int("LOCAL_S3_PORT", 4569, "`npm start` only: port of the in-process S3 stand-in when `S3_ENDPOINT` is not set (0 = any free port)"),
    sqsPort: int("LOCAL_SQS_PORT", 4576, "`npm start` only: port of the in-process SQS stand-in when `SQS_ENDPOINT` is not set (0 = any free port)"),
    pgSuperuser: text("LOCAL_PG_SUPERUSER", "postgres", "`npm start` only: a superuser of the local Postgres (same host and port as `DATABASE_URL`), used to create the owner and application roles and the database"),
  },
});
