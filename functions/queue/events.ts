import { log } from "../../core/platform/logger.ts";
import { done } from "../../core/platform/queue-outcome.ts";
import * as Tenancy from "../../core/tenancy/index.ts";
import { TenancyEventIn } from "../../core/tenancy/index.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

/** Tenancy events: a revoked key is evicted from the auth cache (again); the rest are logged. */
export const handler = sqsBatchHandler({
  queue: "Events",
  schema: TenancyEventIn,
  handle: async (event) => {
    if (event.type === "key.revoked") await Tenancy.evictKeyCache(event.prefix);
    log.info("event", { type: event.type, tenantId: event.tenantId, v: event.v });
    return done();
  },
});
