/** Settings of cost simulation (core/costsim): the V2 shadow path and its provenance. */
import { bool, declareSettings, int, num, urls } from "./declare.ts";

// biome-ignore format: one line per setting
export const costsim = declareSettings("costsim", {
  costsim: {
    v2Sandbox: bool("COSTSIM_V2_SANDBOX", false, "each V1 simulation also stores a shadow request in a Redis stream, relayed each minute to the CostsimShadow queue (the request path never calls SQS), where V2 runs on the same plan, compared and recorded in costsim_provenance; V1's reply is the one returned either way"),
    driftThreshold: num("COSTSIM_DRIFT_THRESHOLD", 0.2, "a V1/V2 comparison whose drift score is above this is major_drift (the seed's P1)", { min: 0, max: 1 }),
    driftWarningThreshold: num("COSTSIM_DRIFT_WARNING_THRESHOLD", 0.15, "a V1/V2 comparison whose drift score is above this is minor_drift (the seed's P2)", { min: 0, max: 1 }),
    schemaErrorThreshold: int("COSTSIM_SCHEMA_ERROR_THRESHOLD", 5, "V2 replies failing their schema (costsim_v2_schema_errors_total) tolerated per window before the alert fires (monitoring/rules/costsim.yml)", { min: 0 }),
    provenanceEnabled: bool("COSTSIM_PROVENANCE_ENABLED", true, "the shadow path records each comparison in costsim_provenance (off: only the metrics)"),
    provenanceCompress: bool("COSTSIM_PROVENANCE_COMPRESS", false, "provenance keeps both replies gzipped in outputs_gz instead of as jsonb in outputs"),
    provenanceRetentionDays: int("COSTSIM_PROVENANCE_RETENTION_DAYS", 90, "comparisons created more than this many days ago are deleted from costsim_provenance (with their recorded inputs) by the CostsimSafety cron, at most 10,000 a minute; the divergence report reads none older", { min: 1 }),
    breaker: {
      windowS: int("COSTSIM_CB_WINDOW_S", 300, "the drift breaker judges the p95 drift score of every tenant's shadow comparisons of this many seconds (the seed's P1: above COSTSIM_DRIFT_THRESHOLD for 5 minutes)", { min: 60 }),
      minSamples: int("COSTSIM_CB_MIN_SAMPLES", 20, "fewer comparisons than this in the window are insufficient data: the evaluation neither passes nor counts as a failure", { min: 1 }),
      failureThreshold: int("COSTSIM_CB_FAILURE_THRESHOLD", 3, "consecutive failing drift evaluations (one a minute at most) that disable V2", { min: 1 }),
      evalIntervalS: int("COSTSIM_CB_EVAL_INTERVAL_S", 60, "at most one drift evaluation this often, by whichever shadow worker or CostsimSafety run comes first", { min: 1 }),
      schemaErrorWindowS: int("COSTSIM_SCHEMA_ERROR_WINDOW_S", 3600, "the window of COSTSIM_SCHEMA_ERROR_THRESHOLD: more V2 schema errors than that in this many seconds disable V2", { min: 60 }),
      disableTtlHours: num("DEFAULT_DISABLE_TTL_HOURS", 24, "a tripped breaker keeps V2 disabled this long; then one worker re-enables it, only if the latest canary (run after the trip) passed", { min: 0, max: 8760 }),
    },
    alerts: {
      alertmanagerUrls: urls("ALERTMANAGER_URL", "Alertmanager base URLs (comma-separated: every one of an HA set gets every alert, never a load balancer); the breaker's alerts go to `<url>/api/v2/alerts`; empty: alerts are queued and never sent"),
      resendS: int("COSTSIM_ALERT_RESEND_S", 60, "a firing alert is sent again this often with a new endsAt (4 times this ahead), as Prometheus re-sends its own", { min: 10 }),
      sendTimeoutMs: int("COSTSIM_ALERT_TIMEOUT_MS", 5000, "one POST to one Alertmanager gives up after this many milliseconds", { min: 100 }),
      backoffBaseS: int("COSTSIM_ALERT_BACKOFF_BASE_S", 2, "first retry delay of an alert no Alertmanager took; doubled at each failure, with full jitter", { min: 1 }),
      backoffMaxS: int("COSTSIM_ALERT_BACKOFF_MAX_S", 300, "longest retry delay of an alert (at most 900, SQS's longest delay)", { min: 1, max: 900 }),
    },
    canary: {
      enabled: bool("COSTSIM_CANARY_ENABLED", true, "the daily CostsimCanary run (POST /api/v1/costsim/canary/run works either way)"),
      windowHours: int("COSTSIM_CANARY_WINDOW_HOURS", 168, "the canary runs V1 and V2 again on the shadow's inputs recorded in this many hours (the newest first); older inputs are deleted. Longer than DEFAULT_DISABLE_TTL_HOURS, so that a V2 the drift breaker disabled (it records nothing while disabled) is judged on the inputs that tripped it", { min: 1 }),
      replaySamples: int("COSTSIM_CANARY_REPLAY_SAMPLES", 1000, "at most this many of the newest recorded inputs are run again by a canary", { min: 1, max: 100000 }),
      minSamples: int("COSTSIM_CANARY_MIN_SAMPLES", 50, "fewer recorded inputs in the canary's window are insufficient data for its replay check (the datasets still decide)", { min: 1 }),
      maxKlDivergence: num("COSTSIM_CANARY_MAX_KL", 0.5, "the canary fails when KL(V1 || V2) of credits over fixed bins, on the recent inputs it ran again, is above this", { min: 0, max: 100 }),
      leaseS: int("COSTSIM_CANARY_LEASE_S", 600, "a canary run holds the leadership this long; a run that died is taken over after it", { min: 30 }),
    },
  },
});
