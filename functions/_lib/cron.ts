/**
 * `cronHandler`: a scheduled job runs as a system actor in its own context; its run is logged and
 * metered (also when it fails), and a failure is rethrown so the scheduler records it.
 */
import { randomUUID } from "node:crypto";
import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { withContext } from "../../core/context.ts";
import { log } from "../../core/platform/logger.ts";
import { flushMetrics, recordCron } from "../../core/platform/metrics/index.ts";

export function cronHandler<R>(
  name: string,
  fn: (event: ScheduledEvent) => Promise<R>,
): (event: ScheduledEvent, context: Context) => Promise<R> {
  const inner = middy<ScheduledEvent, R>({ timeoutEarlyInMillis: 0 }).handler(async (event) => {
    const started = performance.now();
    try {
      const result = await fn(event);
      const ms = performance.now() - started;
      recordCron(name, "ok", ms);
      log.info("cron run", { cron: name, durationMs: Math.round(ms), result });
      return result;
    } catch (e) {
      recordCron(name, "error", performance.now() - started);
      log.error("cron run failed", { cron: name, err: e });
      throw e;
    } finally {
      await flushMetrics();
    }
  });
  return (event, context) => {
    const id = event?.id ?? randomUUID();
    return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: `cron:${name}` } }, () =>
      inner(event, context),
    );
  };
}
