/**
 * EventBridge Scheduler for the `schedules` of routes.ts: each one fires its handler at the times
 * its expression gives (UTC), invocations overlapping as they would in AWS.
 *
 * The payload is what `sst.aws.CronV2` deploys: the schedule's target `input` is
 * `JSON.stringify(args.event || {})`, and EventBridge Scheduler hands that input to the function
 * verbatim, so a CronV2 handler receives `{}` — not the `aws.events` "Scheduled Event" envelope,
 * which only the older `sst.aws.Cron` (EventBridge rules) sends. Handlers must not rely on
 * `event.time` or `event.id`; the local runtime does not hand them any either.
 */
import { log } from "../core/platform/logger.ts";
import type { Schedule } from "../functions/routes.ts";
import type { Invoker } from "./invoke.ts";
import { nextFire, parseSchedule, type ScheduleSpec } from "./schedule.ts";

/** setTimeout's ceiling (about 24.8 days); longer waits are re-armed. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface SchedulerOptions {
  schedules: readonly Schedule[];
  invoker: Invoker;
  /** The event each schedule's handler receives (default: `{}`, as CronV2 sends). */
  payload?: (s: Schedule, firedAt: Date) => unknown;
  now?: () => number;
}

export interface RunningScheduler {
  /** Next fire time of each schedule (undefined once it will never fire again). */
  next(): Record<string, Date | undefined>;
  stop(): void;
}

export function startScheduler(o: SchedulerOptions): RunningScheduler {
  const now = o.now ?? Date.now;
  const payload = o.payload ?? (() => ({}));
  const timers = new Map<string, NodeJS.Timeout>();
  const upcoming: Record<string, Date | undefined> = {};
  let stopped = false;
  // Parse all first: one bad expression stops the runtime before anything fires, as a deploy would fail.
  const parsed = o.schedules.map((s) => ({ s, spec: parseSchedule(s.schedule) }));

  const fire = (s: Schedule, at: Date) => {
    o.invoker.invoke({ handler: s.handler, timeoutS: s.timeoutS }, payload(s, at)).then(
      (r) => {
        if (r.status === "timeout") log.error("scheduled job timed out", { schedule: s.name, timeoutS: s.timeoutS });
        if (r.status === "error") log.error("scheduled job failed", { schedule: s.name, err: r.error });
      },
      () => {},
    );
  };

  const arm = (s: Schedule, spec: ScheduleSpec, after: Date) => {
    // A clock that jumped (laptop asleep) skips the missed runs instead of firing them in a burst.
    let at = nextFire(spec, after);
    while (at && at.getTime() <= now() - 1000) at = nextFire(spec, new Date(Math.max(at.getTime(), now() - 1000)));
    upcoming[s.name] = at;
    if (!at || stopped) return;
    const target = at;
    const wake = () => {
      if (stopped) return;
      const left = target.getTime() - now();
      if (left > 0) {
        timers.set(s.name, setTimeout(wake, Math.min(left, MAX_DELAY_MS)));
        return;
      }
      fire(s, target);
      arm(s, spec, target);
    };
    timers.set(s.name, setTimeout(wake, Math.min(Math.max(0, target.getTime() - now()), MAX_DELAY_MS)));
  };

  const start = new Date(now());
  for (const { s, spec } of parsed) arm(s, spec, start);

  return {
    next: () => ({ ...upcoming }),
    stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
