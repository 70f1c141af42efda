/** One EventBridge schedule per entry of `schedules` in functions/routes.ts. */
import { schedules } from "../functions/routes.ts";
import { functionProps } from "./function.ts";
import { linkTargets } from "./queues.ts";

export const crons: Record<string, sst.aws.CronV2> = {};

for (const s of schedules) {
  crons[s.name] = new sst.aws.CronV2(s.name, {
    schedule: s.schedule as `rate(${string})` | `cron(${string})`,
    function: functionProps(s, linkTargets),
  });
}
