/**
 * Storage and secrets every stage needs: the Exports bucket (audit exports, presigned
 * downloads) and the two connection strings set with `npx sst secret set`.
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
