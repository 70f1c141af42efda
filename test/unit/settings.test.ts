/**
 * Settings are declared once (core/settings/<domain>.ts): the declarations are complete, the
 * configuration parsed from them has the shape and defaults `config()` always had, SST links and
 * secrets still fill it when deployed, and docs/settings.md is what the declarations generate.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderSettingsDoc, SETTINGS_DOC } from "../../cli/settings-doc.ts";
import { ConfigError, parseConfig } from "../../core/config.ts";
import { declareSettings, int, list, parseSettings, required, text } from "../../core/settings/declare.ts";
import { type SettingsSection, sections, settingsOf } from "../../core/settings/index.ts";
import { queues, routes, schedules } from "../../functions/routes.ts";

/** The SST resources a function can be linked to: the two every function gets and those the route table names. */
const linkable = new Set<string>([
  "DatabaseUrl",
  "RedisUrl",
  ...[...routes, ...queues, ...schedules].flatMap((e) => e.links ?? []),
]);
/** Settings whose SST link or secret names a resource no function is ever linked to. */
const unlinkable = (all: readonly SettingsSection[]) =>
  all
    .flatMap((s) => settingsOf(s.tree))
    .map(({ setting: { env, options } }) => ({ env, resource: options.secret ?? options.link?.split(".")[0] }))
    .filter((x) => x.resource !== undefined && !linkable.has(x.resource))
    .map((x) => `${x.env}: ${x.resource}`);

/** What is wrong with a set of declarations, one line per problem (empty = fine). */
function problems(all: readonly SettingsSection[]): string[] {
  const out: string[] = [];
  const envs = new Set<string>();
  const keys = new Set<string>();
  for (const s of all) {
    for (const k of Object.keys(s.tree)) {
      if (keys.has(k)) out.push(`${s.domain}: config key ${k} is another section's`);
      keys.add(k);
    }
    for (const { setting } of settingsOf(s.tree)) {
      const e = setting.env;
      if (!/^[A-Z][A-Z0-9_]*$/.test(e)) out.push(`${e}: not UPPER_SNAKE_CASE`);
      if (envs.has(e)) out.push(`${e}: declared twice`);
      envs.add(e);
      if (setting.doc.trim().length < 3) out.push(`${e}: no doc`);
      if (!["default", "optional", "required"].includes(setting.presence)) out.push(`${e}: no default, not optional`);
      if (setting.presence === "default" && !setting.shown) out.push(`${e}: default not shown`);
    }
  }
  return out;
}

describe("settings declarations", () => {
  it("each has a doc and a default or is optional or required; no variable or config key twice", () => {
    expect(sections.flatMap((s) => settingsOf(s.tree)).length).toBeGreaterThan(50);
    expect(problems(sections)).toEqual([]);
  });

  it("flag a variable declared twice, a missing doc, a bad name and a config key two sections claim", () => {
    const a = declareSettings("a", { x: { n: int("A_N", 1, "a number"), m: int("A_N", 2, "") } });
    const b = declareSettings("b", { x: { lower: text("lower_case", "v", "a name") } });
    expect(problems([a, b])).toEqual([
      "A_N: declared twice",
      "A_N: no doc",
      "b: config key x is another section's",
      "lower_case: not UPPER_SNAKE_CASE",
    ]);
  });

  it("take SST links and secrets only from resources a function of the route table can be linked to", () => {
    expect(unlinkable(sections)).toEqual([]);
    const typo = declareSettings("t", { t: text("T_SECRET", undefined, "a secret", { secret: "SlackWebhookURL" }) });
    expect(unlinkable([typo])).toEqual(["T_SECRET: SlackWebhookURL"]);
  });

  it("parse a required setting only when it is set, an optional one to undefined, a list to words", () => {
    const tree = {
      key: text("T_KEY", required, "must be set"),
      maybe: text("T_MAYBE", undefined, "may be set"),
      hosts: list("T_HOSTS", "hosts"),
    };
    expect(parseSettings(tree, {})).toEqual({
      problems: ["T_KEY: required"],
    });
    expect(parseSettings(tree, { T_KEY: "k", T_HOSTS: " A.example, ,b:80 " })).toEqual({
      values: { key: "k", maybe: undefined, hosts: ["a.example", "b:80"] },
    });
  });
});

describe("parseConfig", () => {
  it("reads ALERTMANAGER_URL as http(s) URLs without credentials, trailing slashes dropped", () => {
    const urls = (v: string) => parseConfig({ ALERTMANAGER_URL: v }).costsim.alerts.alertmanagerUrls;
    expect(urls(" http://am-a:9093/ , https://am-b:9093")).toEqual(["http://am-a:9093", "https://am-b:9093"]);
    expect(urls("")).toEqual([]);
    for (const bad of ["http://u:secret@am:9093", "ftp://am", "am:9093"]) {
      const e = (() => {
        try {
          urls(bad);
        } catch (err) {
          return err as Error;
        }
      })();
      expect(e, bad).toBeInstanceOf(ConfigError);
      expect(e?.message).toContain("ALERTMANAGER_URL");
      expect(e?.message).not.toContain("secret");
    }
  });

  it("gives the shape and defaults config() has always had", () => {
    expect(parseConfig({})).toStrictEqual({
      stage: "dev",
      logLevel: "info",
      databaseUrl: "postgres://aos_app@127.0.0.1:5432/aos",
      databaseMigrationUrl: "postgres://aos_owner@127.0.0.1:5432/aos",
      databaseAppRole: "aos_app",
      dbDriver: "pg",
      dbPoolMax: 10,
      dbStatementTimeoutMs: 15_000,
      dbConnectTimeoutMs: 5_000,
      dbQueryTimeoutMs: 16_000,
      dbTxRetries: 5,
      dbPrepare: true,
      redisUrl: "redis://127.0.0.1:6379",
      redisCommandTimeoutMs: 200,
      redisBackoffMs: 1000,
      redisPrefix: "aos:dev:",
      s3: {
        endpoint: undefined,
        bucket: "aos-exports-dev",
        forcePathStyle: false,
        region: "us-east-1",
        presignTtlS: 3600,
      },
      sqs: { endpoint: undefined, region: "us-east-1", queueUrls: {} },
      aws: { credentialsInEnv: false },
      http: { port: 3000, host: "127.0.0.1" },
      metrics: { enabled: true, maxLabelValues: 50 },
      authCacheTtlS: 30,
      exports: { ttlH: 168, maxAttempts: 5 },
      skills: {
        breaker: { failureThreshold: 5, cooldownS: 60 },
        retry: { maxAttempts: 3, baseMs: 200, maxMs: 5000, retryAfterMaxS: 30 },
        http: { timeoutMs: 10_000, maxResponseBytes: 1_048_576, allowHosts: [] },
        idempotencyTtlH: 24,
        kv: { maxValueBytes: 65_536, maxTtlS: 2_592_000 },
        slack: { webhookUrl: undefined },
        webhook: { signingSecret: undefined },
        voyage: {
          apiKey: undefined,
          baseUrl: "https://api.voyageai.com",
          maxBatch: 1000,
          maxResponseBytes: 67_108_864,
        },
      },
      jobs: { maxParallelism: 50 },
      failures: {
        matchMinConfidence: 0.6,
        persistTimeoutMs: 2000,
        breakerThreshold: 5,
        retentionDays: 90,
        aggregationTopUnmatched: 20,
        breakerCooldownS: 60,
      },
      agents: {
        staleS: 60,
        messageMaxDeliveries: 5,
        messageLeaseS: 30,
        messageTtlS: 86_400,
        blackboardMaxValueBytes: 65_536,
        blackboardNamespaceTtlS: 604_800,
        blackboardJobNamespaceTtlS: 3600,
      },
      workflows: { stepMaxAttempts: 3, stepChainS: 20, stuckAfterS: 900, opsRetentionDays: 30, replayMaxOps: 1000 },
      costsim: {
        v2Sandbox: false,
        driftThreshold: 0.2,
        driftWarningThreshold: 0.15,
        schemaErrorThreshold: 5,
        provenanceEnabled: true,
        provenanceCompress: false,
        provenanceRetentionDays: 90,
        breaker: {
          windowS: 300,
          minSamples: 20,
          failureThreshold: 3,
          evalIntervalS: 60,
          schemaErrorWindowS: 3600,
          disableTtlHours: 24,
        },
        alerts: { alertmanagerUrls: [], resendS: 60, sendTimeoutMs: 5000, backoffBaseS: 2, backoffMaxS: 300 },
        canary: {
          enabled: true,
          windowHours: 168,
          replaySamples: 1000,
          minSamples: 50,
          maxKlDivergence: 0.5,
          leaseS: 600,
        },
      },
      cli: { url: "http://127.0.0.1:3000", key: undefined },
      dataDir: ".aos",
      local: { s3Port: 4569, sqsPort: 4576, pgSuperuser: "postgres" },
    });
  });

  it("derives the owner's URL and the application role from DATABASE_URL unless they are set", () => {
    // The local default: two roles on the same database.
    expect(parseConfig({})).toMatchObject({
      databaseMigrationUrl: "postgres://aos_owner@127.0.0.1:5432/aos",
      databaseAppRole: "aos_app",
    });
    // DATABASE_URL alone: one role for both, as before the split (nothing granted to itself).
    const one = "postgres://neondb_owner:pw@ep-x.neon.tech/aos?sslmode=require";
    expect(parseConfig({ DATABASE_URL: one })).toMatchObject({
      databaseUrl: one,
      databaseMigrationUrl: one,
      databaseAppRole: "neondb_owner",
    });
    // Both, and the role named explicitly (a pooler URL whose user is not the role's name).
    const two = parseConfig({
      DATABASE_URL: "postgres://aos_app.proj:pw@pooler.example/aos",
      DATABASE_MIGRATION_URL: "postgres://aos_owner:pw@direct.example/aos",
      DATABASE_APP_ROLE: "aos_app",
    });
    expect(two).toMatchObject({
      databaseMigrationUrl: "postgres://aos_owner:pw@direct.example/aos",
      databaseAppRole: "aos_app",
    });
    // A URL naming no user: no role to grant to, unless DATABASE_APP_ROLE says which.
    expect(parseConfig({ DATABASE_URL: "postgres://127.0.0.1/aos" }).databaseAppRole).toBeUndefined();
  });

  it("derives what depends on another setting, and freezes the whole object", () => {
    const c = parseConfig({
      STAGE: "prod",
      S3_ENDPOINT: "http://127.0.0.1:4569",
      AWS_REGION: "eu-west-1",
      AWS_PROFILE: "ops",
      SKILL_OUTBOUND_ALLOW_HOSTS: "Hooks.Example:8080, 127.0.0.1",
      VOYAGE_BASE_URL: "https://voyage.example//",
      DB_PREPARE: "no",
    });
    expect(c.redisPrefix).toBe("aos:prod:");
    expect(c.s3).toMatchObject({ bucket: "aos-exports-prod", forcePathStyle: true, region: "eu-west-1" });
    expect(c.sqs.region).toBe("eu-west-1");
    expect(c.aws.credentialsInEnv).toBe(true);
    expect(c.skills.http.allowHosts).toEqual(["hooks.example:8080", "127.0.0.1"]);
    expect(c.skills.voyage.baseUrl).toBe("https://voyage.example");
    expect(c.dbPrepare).toBe(false);
    // The client-side query timeout follows the statement timeout unless set.
    expect(c.dbQueryTimeoutMs).toBe(16_000);
    expect(parseConfig({ DB_STATEMENT_TIMEOUT_MS: "2000" }).dbQueryTimeoutMs).toBe(3_000);
    expect(parseConfig({ DB_STATEMENT_TIMEOUT_MS: "0" }).dbQueryTimeoutMs).toBe(16_000);
    expect(parseConfig({ DB_STATEMENT_TIMEOUT_MS: "2000", DB_QUERY_TIMEOUT_MS: "0" }).dbQueryTimeoutMs).toBe(0);
    expect(Object.isFrozen(c.skills.http.allowHosts) && Object.isFrozen(c.sqs.queueUrls)).toBe(true);
    expect(() => {
      (c.skills.breaker as { cooldownS: number }).cooldownS = 1;
    }).toThrow(TypeError);
  });

  it("takes SST links and secrets when deployed, the environment first, a secret's placeholder as unset", () => {
    const linked = {
      DatabaseUrl: { value: "postgres://neon.example/aos" },
      RedisUrl: { value: "rediss://redis.example:6379" },
      Exports: { name: "aos-prod-exports-abc" },
      SlackWebhookUrl: { value: "unset" },
      WebhookSigningSecret: { value: "s".repeat(40) },
      VoyageApiKey: { value: "pa-key" },
      EventsQueue: { url: "https://sqs.example/Events" },
      JobItemsQueue: { url: "https://sqs.example/JobItems" },
    };
    const c = parseConfig(
      { REDIS_URL: "redis://from-env:6379", QUEUE_URLS: '{"JobItems":"http://env/JobItems"}' },
      linked,
    );
    expect(c.databaseUrl).toBe("postgres://neon.example/aos");
    expect(c.redisUrl).toBe("redis://from-env:6379");
    expect(c.s3.bucket).toBe("aos-prod-exports-abc");
    expect(c.skills.slack.webhookUrl).toBeUndefined();
    expect(c.skills.webhook.signingSecret).toBe("s".repeat(40));
    expect(c.skills.voyage.apiKey).toBe("pa-key");
    expect(c.sqs.queueUrls).toEqual({ Events: "https://sqs.example/Events", JobItems: "http://env/JobItems" });
    // Without links (not deployed), none of it.
    expect(parseConfig({}).skills.voyage.apiKey).toBeUndefined();
  });

  it("refuses bad values, naming every bad variable", () => {
    const fails = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(fails({ DB_POOL_MAX: "0", EXPORT_TTL_H: "169", LOG_LEVEL: "loud" })).toBe(
      [
        "invalid configuration:",
        "  LOG_LEVEL: must be one of: debug, info, warn, error, silent",
        "  DB_POOL_MAX: must be at least 1",
        "  EXPORT_TTL_H: must be at most 168",
      ].join("\n"),
    );
    expect(fails({ STAGE: "Prod" })).toContain("STAGE: has the wrong format");
    expect(fails({ WEBHOOK_SIGNING_SECRET: "short" })).toContain("WEBHOOK_SIGNING_SECRET: must be at least");
    expect(fails({ SLACK_WEBHOOK_URL: "not a url" })).toContain("SLACK_WEBHOOK_URL: must be a URL");
    expect(fails({ QUEUE_URLS: "[1]" })).toContain("QUEUE_URLS must be a JSON object");
    expect(fails({ DB_POOL_MAX: "1", EXPORT_TTL_H: "168" })).toBe("accepted");
  });
});

describe("docs/settings.md", () => {
  it("is what the declarations generate (npm run docs:settings)", () => {
    expect(readFileSync(SETTINGS_DOC, "utf8"), `${SETTINGS_DOC} is stale: run npm run docs:settings`).toBe(
      renderSettingsDoc(),
    );
  });

  it("changes when a declaration does, and documents every variable", () => {
    const doc = renderSettingsDoc();
    for (const { setting } of sections.flatMap((s) => settingsOf(s.tree)))
      expect(doc).toContain(`| \`${setting.env}\``);
    const added = declareSettings("extra", { extra: { n: int("EXTRA_N", 7, "an added setting", { min: 1 }) } });
    const more = renderSettingsDoc([...sections, added]);
    expect(more).not.toBe(doc);
    expect(more).toContain("| `EXTRA_N` | integer >= 1 | `7`     | an added setting |");
  });
});
