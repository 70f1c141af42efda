/**
 * The credits domain's metrics. `credit_reservation_total` and `credit_refund_total` are seed
 * 002's names (credits reserved at spawn, refunded by cancellations); the others follow
 * `aos_credit_<what>_total` (docs/metrics.md).
 */
import { counter } from "../platform/metrics/index.ts";

export const creditMetrics = {
  reservations: counter("credit_reservation_total", "Credits reserved at job spawn", []),
  refunds: counter("credit_refund_total", "Credits refunded by cancellations", []),
  refusals: counter(
    "aos_credit_refusals_total",
    "Job spawns, direct skill executions, workflow runs and agent invokes refused for insufficient credits (402 credits.insufficient)",
    ["operation"],
    { allow: { operation: ["job_spawn", "skill_execute", "workflow_run", "agent_invoke"] } },
  ),
  grants: counter("aos_credit_grants_total", "Credit grants (admin top-ups) committed", []),
  granted: counter("aos_credit_granted_total", "Credits added by grants", []),
};
