/** A skill's call under its deadline (Skills.execute). */
import { clock } from "../platform/clock.ts";
import { SkillTimeoutError } from "./errors.ts";

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
    timer.abort();
  }
}
