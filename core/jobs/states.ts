/**
 * The states of a job and of its items, named once for the code and for the SQL (the .sql.ts
 * files write them in as literals with `sqlLiterals`, so partial indexes on a state still match).
 */
export const JobStates = {
  running: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
} as const;
export type JobState = (typeof JobStates)[keyof typeof JobStates];

/** `claimed`: an item leased to a worker until `lease_until`. */
export const ItemStates = {
  pending: "pending",
  claimed: "claimed",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
} as const;
export type ItemState = (typeof ItemStates)[keyof typeof ItemStates];
