/**
 * The cost simulation domain's metrics: the seed's (004, PIN-026 M6.2) `costsim_v2_*`, recorded by
 * the shadow path (shadow-run.ts: V2 run beside V1 off the request path, compared, recorded).
 * `costsim_v2_circuit_breaker_state` is not declared: the drift breaker that sets it is issue 19
 * (test/setup/metrics-catalog.ts keeps it in `seedNamedNotYetRecorded`).
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
    "Shadow requests of V1 simulations by outcome: stored (in the Redis stream), failed (not stored: lost), relayed (sent to CostsimShadow)",
    ["outcome"],
    { allow: { outcome: ["stored", "failed", "relayed"] } },
  ),
  shadowWaiting: gauge(
    "aos_costsim_shadow_waiting_requests",
    "Shadow requests waiting in the Redis stream after the relay's last run (capped at SHADOW_STREAM_MAX)",
    [],
  ),
};
