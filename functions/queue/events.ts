import { log } from "../../core/platform/logger.ts";
import * as Tenancy from "../../core/tenancy/index.ts";
import { TenancyEvent } from "../../core/tenancy/index.ts";
import { sqsHandler } from "../_lib/sqs.ts";

/** Tenancy events: a revoked key is evicted from the auth cache (again); the rest are logged. */
export const handler = sqsHandler({ queue: "Events", body: TenancyEvent }, async (event) => {
  if (event.type === "key.revoked") await Tenancy.evictKeyCache(event.prefix);
  log.info("event", { type: event.type, tenantId: event.tenantId });
});
