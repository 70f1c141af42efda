import * as z from "zod/mini";
import * as Failures from "../../core/failures/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** `{}` from the schedule (yesterday); `{"day": "YYYY-MM-DD"}` when an operator invokes it for a day. */
const Event = z.looseObject({ day: z.optional(z.string()) });

/**
 * Daily: yesterday's (UTC) failure counts per tenant, entry, category and severity, and the top
 * unmatched messages, written to S3 as JSONL (gzip) and recorded in failure_aggregates.
 */
export const handler = cronHandler("FailureAggregation", async (event) => {
  const { tenants, day } = await Failures.aggregateDay(z.parse(Event, event).day);
  return { day, tenants: tenants.length, rows: tenants.reduce((n, t) => n + t.rows, 0) };
});
