import * as Tenancy from "../../core/tenancy/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: move key-use marks from Redis into api_keys.last_used_at. */
export const handler = cronHandler("KeyUsageFlush", () => Tenancy.flushKeyUsage());
