/** The status history domain's metrics (docs/metrics.md). */
import { counter } from "../platform/metrics/index.ts";

export const statusHistoryMetrics = {
  exports: counter(
    "aos_status_history_exports_total",
    "Export attempts by outcome: ready, retried (attempt failed, tried again), failed (no attempt left)",
    ["outcome"],
    { allow: { outcome: ["ready", "retried", "failed"] } },
  ),
};
