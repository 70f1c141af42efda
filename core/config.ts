/**
 * Configuration, parsed once from the environment with zod and frozen.
 *
 * This is the only module that reads `process.env`. Each setting is declared once, in
 * core/settings/<domain>.ts (variable, type, default, doc, SST link or secret): the schema, the
 * shape of `Config` and docs/settings.md (`npx aos settings --write`) all come from there. This
 * file adds what links settings together: the SST links of a deployed Lambda, the defaults that
 * depend on another setting (the bucket named after the stage) and the parsed queue URLs.
 *
 * @example
 *   import { config } from "../config.ts";
 *   const pool = createPool(config().databaseUrl);
 */
import { Resource } from "sst/resource";
import * as z from "zod/mini";
import { issueMessage } from "./errors.ts";
import { parseSettings, type Setting, settingsOf, settingsTree, type ValuesOf } from "./settings/index.ts";
import { LOCAL_APP_URL, LOCAL_OWNER_URL } from "./settings/platform.ts";

// zod/mini (a fraction of the classic API's size, since every Lambda bundles it) ships without
// messages; AOS's own (core/errors.ts) are installed once, here, for every schema of the process,
// so no reply quotes the library's English.
z.config({ localeError: issueMessage });

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * SST links (secrets DatabaseUrl and RedisUrl, the Exports bucket, each `<Name>Queue`, the skills'
 * secrets) reach a deployed Lambda through `Resource`; outside SST the proxy is empty.
 */
export type Linked = Record<string, { value?: string; name?: string; url?: string } | undefined>;
function linkedResources(): Linked {
  const out: Linked = {};
  for (const key of Object.keys(Resource)) out[key] = (Resource as unknown as Linked)[key];
  return out;
}

/** The variable a setting's link or secret supplies, unless the environment sets it. */
function fromLinks(linked: Linked, s: Setting): string | undefined {
  const { link, secret } = s.options;
  if (secret) {
    // The stacks give secrets the placeholder "unset" until `sst secret set` replaces it.
    const v = linked[secret]?.value;
    return v === "unset" ? undefined : v;
  }
  if (!link) return undefined;
  const [name, prop] = link.split(".") as [string, "value" | "name" | "url"];
  return linked[name]?.[prop];
}

function queueUrlsOf(json: string, linked: Linked): Record<string, string> {
  let urls: Record<string, string>;
  try {
    urls = z.parse(z.record(z.string(), z.string().check(z.minLength(1))), JSON.parse(json));
  } catch {
    throw new ConfigError('QUEUE_URLS must be a JSON object of queue name -> URL, e.g. {"Events":"http://..."}');
  }
  for (const [key, r] of Object.entries(linked)) {
    const name = key.endsWith("Queue") ? key.slice(0, -"Queue".length) : undefined;
    if (name && r?.url && !urls[name]) urls[name] = r.url;
  }
  return urls;
}

/** The user name a Postgres URL names, if any (without one the driver takes the OS user's). */
function userOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).username) || undefined;
  } catch {
    return undefined;
  }
}

/** The declared values plus what depends on more than one setting. */
function derive(e: ValuesOf<typeof settingsTree>, linked: Linked) {
  const { region, ...credentials } = e.aws;
  return {
    ...e,
    /**
     * The owner role's URL (migrations). Unset: the local owner while DATABASE_URL is the local
     * application role, else DATABASE_URL itself (one role, as before the split).
     */
    databaseMigrationUrl: e.databaseMigrationUrl ?? (e.databaseUrl === LOCAL_APP_URL ? LOCAL_OWNER_URL : e.databaseUrl),
    /** The role migrations grant the application's privileges to: by default DATABASE_URL's user (none: no grants). */
    databaseAppRole: e.databaseAppRole ?? userOf(e.databaseUrl),
    dbQueryTimeoutMs: e.dbQueryTimeoutMs ?? (e.dbStatementTimeoutMs > 0 ? e.dbStatementTimeoutMs : 15_000) + 1_000,
    /** Prefix of every Redis key, so stages sharing one Redis never collide. */
    redisPrefix: `aos:${e.stage}:`,
    s3: {
      endpoint: e.s3.endpoint,
      bucket: e.s3.bucket ?? `aos-exports-${e.stage}`,
      forcePathStyle: e.s3.forcePathStyle ?? Boolean(e.s3.endpoint),
      region,
      presignTtlS: e.s3.presignTtlS,
    },
    sqs: {
      endpoint: e.sqs.endpoint,
      region,
      /** Queue name (as in functions/routes.ts) -> queue URL. */
      queueUrls: queueUrlsOf(e.sqs.queueUrls, linked) as Readonly<Record<string, string>>,
    },
    aws: {
      /**
       * The environment names AWS credentials (keys, a profile, web identity or a container
       * endpoint; always true in Lambda). When false and an endpoint override is set, the S3 and
       * SQS clients sign with static dummy credentials, which s3rver and fauxqs accept.
       */
      credentialsInEnv: Object.values(credentials).some(Boolean),
    },
  };
}

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
export type Config = DeepReadonly<ReturnType<typeof derive>>;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Parses a whole environment. `linked` (the SST links of a deployed Lambda) defaults to `Resource`
 * when `env` is `process.env` itself, and to none otherwise.
 */
export function parseConfig(
  env: NodeJS.ProcessEnv,
  linked: Linked = env === process.env ? linkedResources() : {},
): Config {
  const input: Record<string, string | undefined> = { ...env };
  for (const { setting } of settingsOf(settingsTree)) input[setting.env] ??= fromLinks(linked, setting);
  const parsed = parseSettings(settingsTree, input);
  if ("problems" in parsed) {
    throw new ConfigError(`invalid configuration:\n${parsed.problems.map((p) => `  ${p}`).join("\n")}`);
  }
  return deepFreeze(derive(parsed.values, linked));
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
