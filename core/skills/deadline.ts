/** A skill's call under its deadline (Skills.execute). */
import { clock } from "../platform/clock.ts";
import { SkillTimeoutError } from "./errors.ts";

/**
 * Why the deadline's timer is cancelled once the call is over: a constant, so no DOMException
 * (an AbortError with its stack) is built per call, as `abort()` without a reason builds one.
 */
const CALL_OVER = Object.freeze({ reason: "the call ended before its deadline" });

/** `run` racing the deadline; the signal tells the skill's requests to stop. */
export async function runWithDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  skill: string,
  ms: number,
): Promise<T> {
  const ctl = new AbortController();
  const timer = new AbortController();
  const deadline = clock()
    .sleep(ms, timer.signal)
    .then(
      () => {
        const e = new SkillTimeoutError(skill, ms);
        ctl.abort(e);
        throw e;
      },
      () => undefined as never,
    );
  try {
    return await Promise.race([work(ctl.signal), deadline]);
  } finally {
    timer.abort(CALL_OVER);
  }
}
