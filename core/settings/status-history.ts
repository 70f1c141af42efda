/** Settings of status history (core/status-history): its exports to S3. */
import { declareSettings, int } from "./declare.ts";

// biome-ignore format: one line per setting
export const statusHistory = declareSettings("status history", {
  exports: {
    // The bucket's 7-day expiry of exports/ is the backstop, so more than 168 hours would be cut short.
    ttlH: int("EXPORT_TTL_H", 168, "hours a status history export stays downloadable (the bucket deletes `exports/` after 7 days anyway); the `StatusHistoryExportSweep` cron deletes it then", { min: 1, max: 168 }),
    maxAttempts: int("EXPORT_MAX_ATTEMPTS", 5, "attempts of an export before it is marked `failed`", { min: 1 }),
  },
});
