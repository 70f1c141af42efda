import * as Credits from "../../core/credits/index.ts";
import * as Skills from "../../core/skills/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/**
 * Hourly: forget idempotency records (skills' and creating POSTs') older than
 * SKILL_IDEMPOTENCY_TTL_H, and release the credit holds of direct skill executions whose caller
 * died (expired holds).
 */
export const handler = cronHandler("SkillIdempotencySweep", async () => ({
  deleted: await Skills.sweepIdempotency(),
  holds_released: await Credits.releaseExpiredHolds(),
}));
