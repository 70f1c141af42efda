/**
 * The cost simulation domain's metrics: none declared yet, on purpose. The seed (PIN-026, M6.2)
 * names six: `costsim_v2_drift_score`, `costsim_v2_cost_delta_cents`,
 * `costsim_v2_schema_errors_total`, `costsim_v2_simulation_duration_ms`,
 * `costsim_v2_comparison_verdict_total` and `costsim_v2_circuit_breaker_state`. They describe the
 * shadow path (V2 run beside V1, compared, recorded), which this pure core does not run, and
 * docs/metrics.md rule 4 holds that a metric no code records is not declared
 * (test/setup/metrics-catalog.ts lists them in `seedNamedNotYetRecorded` until then).
 *
 * For whoever declares them with the shadow path: the seed's names win with only a missing base
 * unit added, so `costsim_v2_simulation_duration_ms` becomes `..._seconds` (ms is not a base
 * unit); `costsim_v2_cost_delta_cents` records `Comparison.cost_delta`, which is in credits (AOS
 * has no cents): the name needs a decision; `costsim_v2_drift_score` is a histogram of a unitless
 * 0-1 score, which the "a histogram ends in its unit" rule does not foresee; the verdict label's
 * allowlist is the `Verdict` enum of schema.ts.
 */
export {};
