/**
 * An invoke's states: A2A's task state names where they fit (submitted, working, completed,
 * failed, canceled); `timeout` when its deadline passed unanswered, `late` when the target's
 * answer came after the deadline (recorded, not lost; the caller already had its 504).
 */
export const InvokeStates = {
  submitted: "submitted",
  working: "working",
  completed: "completed",
  failed: "failed",
  canceled: "canceled",
  timeout: "timeout",
  late: "late",
} as const;
export type InvokeState = (typeof InvokeStates)[keyof typeof InvokeStates];
