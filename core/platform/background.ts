/**
 * Work a caller starts and does not wait for, finished before the invocation ends. A failing
 * skill call hands its failure record here (`Failures.recordInBackground`) and returns at once;
 * the record's write (bounded by FAILURE_PERSIST_TIMEOUT_MS, queued when Postgres is slow) goes
 * on beside the caller's own work. Lambda freezes the process once a handler returns, so every
 * handler kit (functions/_lib: http, sqs, cron) awaits `settleBackground()` before it returns:
 * an invocation never ends with such work unfinished. A long-lived process (`npm start`) runs
 * the same kits.
 *
 * Tracked promises must bound their own time and never reject (a rejection is swallowed here,
 * not reported: the work logs and counts its own failures).
 *
 * @example
 *   inBackground(writeSomething());     // the caller goes on
 *   await settleBackground();           // in the handler kit, before returning
 */
const pending = new Set<Promise<unknown>>();

/** Track `work` until it settles. */
export function inBackground(work: Promise<unknown>): void {
  const tracked: Promise<unknown> = work.then(
    () => pending.delete(tracked),
    () => pending.delete(tracked),
  );
  pending.add(tracked);
}

/** Wait for everything tracked, including what it started meanwhile. */
export async function settleBackground(): Promise<void> {
  while (pending.size) await Promise.all([...pending]);
}

/** How much is in flight (tests, and the kits' logs). */
export const backgroundPending = (): number => pending.size;
