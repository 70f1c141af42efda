/**
 * `cronHandler`: a scheduled job runs as a system actor in its own context; its run is logged and
 * metered (also when it fails), and a failure is rethrown so the scheduler records it.
 *
 * SST's CronV2 targets EventBridge Scheduler with the input `JSON.stringify(args.event || {})`,
 * so the event is `{}` unless the stack gives one: jobs must not rely on `id` or `time`.
 */
import { randomUUID } from "node:crypto";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { withContext } from "../../core/context.ts";
import { settleBackground } from "../../core/platform/background.ts";
import { log } from "../../core/platform/logger.ts";
import { flushMetrics, recordCron } from "../../core/platform/metrics/index.ts";

/** What CronV2 delivers: `{}` by default, or the stack's `event`. */
export type CronEvent = Record<string, unknown>;

export function cronHandler<R>(
  name: string,
  fn: (event: CronEvent) => Promise<R>,
): (event: CronEvent, context: Context) => Promise<R> {
  const inner = middy<CronEvent, R>({ timeoutEarlyInMillis: 0 }).handler(async (event) => {
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
      await settleBackground();
      await flushMetrics();
    }
  });
  return (event, context) => {
    const id = context?.awsRequestId ?? randomUUID();
    return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: `cron:${name}` } }, () =>
      inner(event, context),
    );
  };
}
