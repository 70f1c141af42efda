/** The states of a status history export, named once for the code and for the SQL. */
export const ExportStates = {
  pending: "pending",
  running: "running",
  ready: "ready",
  failed: "failed",
  expired: "expired",
} as const;
export type ExportState = (typeof ExportStates)[keyof typeof ExportStates];
