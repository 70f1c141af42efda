/**
 * The outbox's metrics (declared once; recorded by index.ts). The `outbox` label is the declared
 * name of an outbox (`job_items`, `status_history_exports`): each `defineOutbox` adds its own to
 * the allowlist, so the label is bounded by code, never by data.
 */
import { allowLabelValues, counter, gauge } from "../metrics/index.ts";

const NAMES = {
  resent: "aos_outbox_resent_total",
  sendFailures: "aos_outbox_send_failures_total",
  oldestUnsent: "aos_outbox_oldest_unsent_age_seconds",
} as const;

export const outboxMetrics = {
  resent: counter(NAMES.resent, "Outbox messages the sweeper sent again", ["outbox"], { allow: { outbox: [] } }),
  sendFailures: counter(
    NAMES.sendFailures,
    "Outbox messages SQS did not accept (left for the sweeper), by the path that sent them (`via`: commit or sweep)",
    ["outbox", "via"],
    { allow: { outbox: [], via: ["commit", "sweep"] } },
  ),
  oldestUnsent: gauge(
    NAMES.oldestUnsent,
    "Age of the oldest row still waiting for its first accepted message (0: none), set by each sweep",
    ["outbox"],
  ),
};

// The gauge takes no allowlist at declaration: an empty one, extended by each outbox.
allowLabelValues(NAMES.oldestUnsent, "outbox", []);

/** Allow an outbox's name in the `outbox` label of every outbox metric. */
export function allowOutbox(name: string): void {
  for (const metric of Object.values(NAMES)) allowLabelValues(metric, "outbox", [name]);
}
