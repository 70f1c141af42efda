import { checkHealth, HealthReply } from "../../../core/platform/health.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 200 when Postgres, Redis, S3 and SQS all answer; 503 naming what is down. Open breakers are shown, never a 503. */
export const handler = httpHandler({ response: HealthReply }, async () => {
  const health = await checkHealth();
  const down = Object.entries(health.checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  return new HttpReply(down.length ? 503 : 200, { ...health, down }, { "cache-control": "no-store" });
});
