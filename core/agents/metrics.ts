/**
 * The agents domain's metrics. `invoke_duration_seconds`, `invoke_success_total` and
 * `invoke_failure_total` are seed 002's names; the others follow `aos_agent_<what>_<unit>`
 * (docs/metrics.md).
 */
import { counter, gauge, histogram } from "../platform/metrics/index.ts";

export const agentMetrics = {
  messages: counter("aos_agent_messages_total", "Agent messages by event", ["event"], {
    allow: { event: ["sent", "duplicate", "delivered", "redelivered", "acked", "dead", "replayed", "expired"] },
  }),
  deliverySeconds: histogram(
    "aos_agent_message_delivery_seconds",
    "Time from a message's send to its first delivery to a receiver",
    [],
    { buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30] },
  ),
  deadLetters: gauge(
    "aos_agent_dead_letters",
    "Dead letters not yet replayed or acked, every tenant (set by the sweep)",
    [],
  ),
  invokeSeconds: histogram(
    "invoke_duration_seconds",
    "An invoke's duration from start to its answer or deadline",
    ["status"],
    {
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
      allow: { status: ["completed", "failed", "timeout", "canceled"] },
    },
  ),
  invokeSuccess: counter("invoke_success_total", "Invokes completed by their target before the deadline", []),
  invokeFailure: counter(
    "invoke_failure_total",
    "Invokes that failed: the target's error, or no answer by the deadline",
    ["reason"],
    {
      allow: { reason: ["failed", "timeout"] },
    },
  ),
  blackboardSeconds: histogram(
    "blackboard_op_duration_seconds",
    "A blackboard operation's duration (Redis round trip included)",
    ["op"],
    {
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      allow: { op: ["put", "get", "delete", "incr", "list", "aggregate"] },
    },
  ),
  invokeLate: counter(
    "aos_agent_invoke_late_total",
    "Answers that came after their invoke's deadline (recorded as late) or after its cancel (recorded on the canceled invoke)",
    ["after"],
    { allow: { after: ["deadline", "cancel"] } },
  ),
  invokeCanceled: counter("aos_agent_invokes_canceled_total", "Invokes canceled by their caller", []),
};
