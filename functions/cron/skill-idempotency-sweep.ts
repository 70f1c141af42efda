import * as Skills from "../../core/skills/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Hourly: forget finished idempotent executions older than SKILL_IDEMPOTENCY_TTL_H. */
export const handler = cronHandler("SkillIdempotencySweep", async () => ({ deleted: await Skills.sweepIdempotency() }));
