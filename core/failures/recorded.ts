/**
 * Which errors are in the failure catalog already: `record` (and so `recordInBackground`) marks
 * the error object it was given, and a caller further up asks `wasRecorded` before recording the
 * same failure again. So a layer that records what it throws (Skills.execute: a failure of the
 * call itself) and a layer above it that records the rest (a workflow step: args refused, a
 * breaker's or an idempotency refusal) never record one failure twice nor skip one, without the
 * upper layer keeping a list of which codes the lower one records.
 *
 * Marks live in a WeakSet: nothing on the error changes, and a mark goes with its error.
 *
 * @example
 *   } catch (e) {
 *     if (!Failures.wasRecorded(e)) Failures.recordInBackground({ error: e, runId });
 *   }
 */
const recorded = new WeakSet<object>();

const isObject = (e: unknown): e is object => (typeof e === "object" && e !== null) || typeof e === "function";

/**
 * Mark `error` as in the catalog already: `record` does it for what it records; a layer marks
 * what it throws for a failure recorded earlier (a replay of a stored failure).
 */
export function markRecorded(error: unknown): void {
  if (isObject(error)) recorded.add(error);
}

/** Whether `error` (this very object) was recorded, or marked as recorded. */
export function wasRecorded(error: unknown): boolean {
  return isObject(error) && recorded.has(error);
}
