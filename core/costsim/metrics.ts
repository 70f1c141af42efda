/**
 * The cost simulation domain's metrics: the seed's (004, PIN-026 M6.2) `costsim_v2_*`, recorded by
 * the shadow path (shadow-run.ts: V2 run beside V1 off the request path, compared, recorded).
 * The drift breaker's (seed 001 PIN-028 #4, issue 19: breaker.ts, alerts.ts, canary.ts) are the
 * seed's seven `costsim_cb_*` and `costsim_v2_circuit_breaker_state`; labels added to the seed's
 * counters say why (`trigger`) or how (`how`), from fixed lists.
 *
 * Departures from the seed's spelling, each decided here (docs/metrics.md, "Cost simulation"):
 * - `costsim_v2_simulation_duration_ms` is `..._seconds` (the base unit, as every seed name).
 * - `costsim_v2_cost_delta_cents` is `costsim_v2_cost_delta_credits`: it records
 *   `Comparison.cost_delta` (V2 - V1), and AOS prices in credits, not cents. Signed: the buckets
 *   are symmetric around 0.
 * - `costsim_v2_drift_score` is a histogram of a unitless 0..1 score: the "a histogram ends in its
 *   unit" rule has the seed's name as its one stated exception (`unit: "none"` in the catalog).
 * The verdict label's allowlist is schema.ts's `Verdict`. Two of AOS's own (`aos_costsim_*`) watch
 * the shadow's transport (shadow-requests.ts): requests stored, lost and relayed, and how many wait.
 */
import { counter, gauge, histogram } from "../platform/metrics/index.ts";
import { Verdict } from "./schema.ts";

export const costsimMetrics = {
  driftScore: histogram("costsim_v2_drift_score", "Drift score (0-1) of each V1/V2 comparison where V2 answered", [], {
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1],
  }),
  costDelta: histogram(
    "costsim_v2_cost_delta_credits",
    "V2 minus V1 credits of each comparison where V2 answered (seed: costsim_v2_cost_delta_cents)",
    [],
    { buckets: [-1000, -100, -10, -1, -0.1, 0, 0.1, 1, 10, 100, 1000] },
  ),
  schemaErrors: counter(
    "costsim_v2_schema_errors_total",
    "V2 simulations that threw or answered outside SimulateReplyV2 (verdict v2_error; never shown to the caller)",
    [],
  ),
  simulationSeconds: histogram(
    "costsim_v2_simulation_duration_seconds",
    "Time of one V2 simulation in the shadow path, its history already read (seed: costsim_v2_simulation_duration_ms)",
    [],
    { buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
  ),
  verdicts: counter("costsim_v2_comparison_verdict_total", "V1/V2 comparisons by verdict", ["verdict"], {
    allow: { verdict: Verdict.options },
  }),
  shadowRequests: counter(
    "aos_costsim_shadow_requests_total",
    "Shadow requests of V1 simulations by outcome: stored (in the Redis stream), failed (not stored: lost), relayed (sent to CostsimShadow), disabled (not stored or not compared: the drift breaker has V2 disabled)",
    ["outcome"],
    { allow: { outcome: ["stored", "failed", "relayed", "disabled"] } },
  ),
  breakerState: gauge(
    "costsim_v2_circuit_breaker_state",
    "The V2 drift breaker: 0 CLOSED (V2 enabled), 1 OPEN (V2 disabled), 2 HALF_OPEN (disabled, its TTL over: re-enabled by the next recovery whose canary passed)",
    [],
  ),
  disabled: counter("costsim_cb_disabled_total", "Times the drift breaker disabled V2, by trigger", ["trigger"], {
    allow: { trigger: ["drift", "schema_errors", "canary"] },
  }),
  incidents: counter(
    "costsim_cb_incidents_total",
    "Drift breaker incidents recorded (costsim_cb_incidents), by trigger",
    ["trigger"],
    {
      allow: { trigger: ["drift", "schema_errors", "canary"] },
    },
  ),
  enabled: counter(
    "costsim_cb_enabled_total",
    "Times V2 was enabled again, by how: auto_recovery or reset (an admin)",
    ["how"],
    {
      allow: { how: ["auto_recovery", "reset"] },
    },
  ),
  autoRecoveries: counter(
    "costsim_cb_auto_recovery_total",
    "Drift breaker recoveries after DEFAULT_DISABLE_TTL_HOURS with a passing canary",
    [],
  ),
  consecutiveFailures: gauge(
    "costsim_cb_consecutive_failures",
    "Consecutive failing drift evaluations of the breaker (it opens at COSTSIM_CB_FAILURE_THRESHOLD)",
    [],
  ),
  evaluations: counter(
    "aos_costsim_breaker_evaluations_total",
    "Drift breaker evaluations by outcome: pass, fail, insufficient_data (never a pass, never a failure)",
    ["outcome"],
    { allow: { outcome: ["pass", "fail", "insufficient_data"] } },
  ),
  alertQueueDepth: gauge(
    "costsim_cb_alert_queue_depth",
    "Alerts waiting to reach every Alertmanager (costsim_alert_queue rows whose current version is not delivered)",
    [],
  ),
  alertSendFailures: counter(
    "costsim_cb_alert_send_failures_total",
    "POSTs of an alert to one Alertmanager that failed, by kind: status (it answered non-2xx), network, timeout",
    ["kind"],
    { allow: { kind: ["status", "network", "timeout"] } },
  ),
  alertsDelivered: counter(
    "aos_costsim_alerts_delivered_total",
    "Alert versions accepted by every Alertmanager, by state: firing (a trip or its re-assertion) or resolved",
    ["state"],
    { allow: { state: ["firing", "resolved"] } },
  ),
  alertDeliverySeconds: histogram(
    "aos_costsim_alert_delivery_seconds",
    "From an alert's change (a trip, a re-assertion, a recovery) to its acceptance by every Alertmanager",
    [],
    { buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900] },
  ),
  canaryRuns: counter(
    "aos_costsim_canary_runs_total",
    "Canary runs by outcome: passed, failed, insufficient_data, stepped_aside (another run held the leadership)",
    ["outcome"],
    { allow: { outcome: ["passed", "failed", "insufficient_data", "stepped_aside"] } },
  ),
  canaryLastFinished: gauge(
    "aos_costsim_canary_last_finished_timestamp_seconds",
    "When the last canary run finished (Unix seconds), whatever its outcome",
    [],
  ),
  shadowWaiting: gauge(
    "aos_costsim_shadow_waiting_requests",
    "Shadow requests waiting in the Redis stream after the relay's last run (capped at SHADOW_STREAM_MAX)",
    [],
  ),
};
