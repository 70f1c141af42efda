/**
 * Storage and secrets every stage needs: the Exports bucket (audit exports, presigned
 * downloads), the two connection strings and the skills' credentials, set with
 * `npx sst secret set`.
 */

/**
 * Exported audit files live under `exports/`. The export flow deletes or supersedes its own
 * objects; the 7-day expiry is only a backstop so a failed cleanup cannot keep data forever.
 * Multipart uploads left incomplete by a crashed Lambda cost storage until aborted: 1 day.
 */
export const exportsBucket = new sst.aws.Bucket("Exports", {
  lifecycle: [{ id: "expire-exports", prefix: "exports/", expiresIn: "7 days" }],
  transform: {
    // The component's lifecycle rules only express expiry; the multipart abort goes in here.
    lifecycle: (args) => {
      args.rules = $output(args.rules).apply((rules = []) => [
        ...rules,
        {
          id: "abort-incomplete-multipart",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
      ]);
    },
  },
});

/** Neon connection string (the `-pooler` URL for Lambdas; see docs/deploy.md). */
export const databaseUrl = new sst.Secret("DatabaseUrl");
/** Redis connection string, `rediss://` in production. */
export const redisUrl = new sst.Secret("RedisUrl");

/**
 * Skills' credentials. Placeholders keep a stage deployable before they are set; the skill that
 * needs one answers 503 skills.not_configured until then (core/config.ts treats the placeholder
 * as unset).
 */
export const slackWebhookUrl = new sst.Secret("SlackWebhookUrl", "unset");
/** Master of every tenant's webhook signing secret (at least 32 characters). */
export const webhookSigningSecret = new sst.Secret("WebhookSigningSecret", "unset");
export const voyageApiKey = new sst.Secret("VoyageApiKey", "unset");
