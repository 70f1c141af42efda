/**
 * Cost simulation: what a plan (a workflow with its input, or a job spawn body) would cost, take
 * and risk, before anything runs. The model is pure: no I/O inside V1 or V2; the tenant's credits
 * are read here (the credits domain), its history (the skill_metrics view, job items and the
 * failure catalog, whose domains import costsim) by the caller and passed in (`HistoryReader`).
 * Its own SQL is costsim_provenance's (provenance.sql.ts): the shadow path's comparisons and the
 * divergence report over them.
 *
 * - **V1** (production): the skills' cost models and stated priors (priors.ts).
 * - **V2** (candidate): V1's arithmetic calibrated from the tenant's history, with a confidence
 *   and per-step fallbacks to V1's priors where the history is thin.
 * - **Comparison** of the two for the shadow path: hashes, drift score, verdict (compare.ts);
 *   the **divergence report** over many comparisons (divergence.ts, pure; report.ts, the same in
 *   SQL over provenance); the five **reference datasets** of M6.5 and their validation
 *   (datasets.ts, validate-dataset.ts, dataset-routes.ts).
 * - **Shadow path** (COSTSIM_V2_SANDBOX): `simulate` answers V1 and hands the plan to the
 *   CostsimShadow queue off the request path; `runShadow` (its consumer) runs V2, compares and
 *   records the comparison (`recordComparison`) and the `costsim_v2_*` metrics.
 * - **Safety net**: the drift breaker (breaker.ts, breaker-state.ts, evaluate.ts, incidents.ts)
 *   that disables V2 for every tenant on drift, schema errors or a failed canary and re-enables it
 *   after DEFAULT_DISABLE_TTL_HOURS past a passing canary; its alerts to Alertmanager (alerts.ts,
 *   the AlertDelivery queue); the canary (canary.ts); the CostsimSafety cron's minute (safety.ts).
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as Costsim from ".../core/costsim/index.ts"`, then `Costsim.simulateV1(...)`).
 * Workflows and jobs may import it; it imports neither (it restates their step and spawn shapes).
 *
 * @example
 *   import * as Costsim from "../costsim/index.ts";
 *   const plan = Costsim.planOf({ job: { task: "voyage_embed", items } }, { maxParallelism: 50 });
 *   const { reply, comparison } = Costsim.shadow(plan, history, { drift: 0.2, warning: 0.15 }, { availableCredits });
 */

import { recordActual } from "./actuals.ts";
import {
  ALERT_NAME,
  ALERT_QUEUE,
  alertOf,
  backoffS,
  deliverAlert,
  measureDepth,
  redriveAlerts,
  sweepAlerts,
} from "./alerts.ts";
import { driftBreaker, recover, reset, tripOnCanary } from "./breaker.ts";
import { BREAKER_KEY, STATE_CACHE_MS, v2Enabled } from "./breaker-state.ts";
import { getCanaryReport, listCanaryReports, runCanary, scheduledCanary } from "./canary.ts";
import {
  compare,
  DRIFT_WEIGHTS,
  driftScore,
  hashOf,
  relativeDifference,
  SEED_THRESHOLDS,
  shadow,
  verdictOf,
} from "./compare.ts";
import { COMPLEXITY_WEIGHTS, complexityOf, sampleConfidence } from "./confidence.ts";
import { getDataset, listDatasets, validateAllDatasets, validateDatasetNamed } from "./dataset-routes.ts";
import { DATASET_NAMES, dataset, datasets, parseDataset, SEED_DATASETS } from "./datasets.ts";
import { divergence, MIN_DIVERGENCE_SAMPLES } from "./divergence.ts";
import { evaluateDrift, forgetBreakerCache } from "./evaluate.ts";
import { breakerStatus, listIncidents } from "./incidents.ts";
import { planOf } from "./plan.ts";
import { DEFAULT_SKILL_PRIOR, EXTERNAL_PRIOR, MIN_HISTORY_SAMPLES, priorOf, SKILL_PRIORS } from "./priors.ts";
import { recordComparison, V1_VERSION, V2_VERSION } from "./record.ts";
import { replayRecent } from "./replay.ts";
import { DEFAULT_WINDOW_DAYS, divergenceReport, status } from "./report.ts";
import { runSafety } from "./safety.ts";
import { relayRequests, SHADOW_QUEUE, SHADOW_STREAM, SHADOW_STREAM_MAX } from "./shadow-requests.ts";
import { runShadow } from "./shadow-run.ts";
import { planOptions, planRefOf, simulate, simulateCandidate, skillsOf } from "./simulate.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";
import { COST_BINS, DURATION_BINS_MS, KL_EPSILON, klDivergence, klFromCounts, quantile } from "./statistics.ts";
import { v1Estimator, v2Estimator, validateDataset } from "./validate-dataset.ts";

export type { ActualOutcome } from "./actuals.ts";
export * from "./api-schema.ts";
export type { CanaryReport as CanaryReportView } from "./canary.ts";
export type { CompareInput, DriftThresholds } from "./compare.ts";
export type { DatasetSummary, DatasetValidation } from "./dataset-routes.ts";
export type { Dataset, DatasetName, DatasetSample, DatasetThresholds } from "./datasets.ts";
export type { ComparisonRow } from "./divergence.ts";
export * from "./errors.ts";
export type { CallFigures, FeasibilityOptions } from "./estimate.ts";
export type { Evaluation } from "./evaluate.ts";
export type { BreakerStatus as BreakerView, IncidentView } from "./incidents.ts";
export type { PlanOptions } from "./plan.ts";
export type { SkillPrior } from "./priors.ts";
export type { ComparisonInput, ProvenanceOutputs, ProvenanceRecord, Recorded } from "./record.ts";
export type { ReplayCheck } from "./replay.ts";
export type { SafetyRun } from "./safety.ts";
export * from "./schema.ts";
export type { RelayResult } from "./shadow-requests.ts";
export type { DatasetCheck, DatasetReport, Estimator } from "./validate-dataset.ts";
export {
  /** The alertname of the alert AOS sends Alertmanager for a drift breaker incident. */
  ALERT_NAME,
  /** The queue of alert deliveries: AlertDelivery. */
  ALERT_QUEUE,
  /** An incident's alert: its labels (its identity in Alertmanager) and annotations. */
  alertOf,
  /** The drift breaker's key (one for every tenant). */
  BREAKER_KEY,
  /** The delay (s) before an alert's next attempt: exponential, full jitter. */
  backoffS,
  /** The drift breaker as Postgres has it, its open incident and its last evaluation. */
  breakerStatus,
  /** Weights of the plan-complexity penalty in V2's confidence. */
  COMPLEXITY_WEIGHTS,
  /** Lower edges of the credit bins of the KL divergence. */
  COST_BINS,
  /** V1 against V2 (or V2's error) for one plan: hashes, cost delta, drift score, verdict. */
  compare,
  /** The complexity factor (0, 1] of a plan in V2's confidence. */
  complexityOf,
  /** The seed's dataset names, in order. */
  DATASET_NAMES,
  /** The prior of a skill with none of its own. */
  DEFAULT_SKILL_PRIOR,
  /** The divergence report's window without `since`, in days (7). */
  DEFAULT_WINDOW_DAYS,
  /** Weights of credits, duration and p_failure in the drift score. */
  DRIFT_WEIGHTS,
  /** Lower edges of the duration bins (ms) of the KL divergence. */
  DURATION_BINS_MS,
  /** A reference dataset by name, parsed and checked against the seed's sample count. */
  dataset,
  /** All five reference datasets. */
  datasets,
  /** The AlertDelivery worker's work: one alert's current version POSTed to every Alertmanager. */
  deliverAlert,
  /** The divergence report (M6.4) over comparison rows; insufficient_data below min samples. */
  divergence,
  /** The divergence report of the tenant's provenance rows in SQL (admin: another tenant); equals `divergence` on the same rows. */
  divergenceReport,
  /** The V2 drift breaker (the platform breaker of kind `costsim`). */
  driftBreaker,
  /** The drift score (0..1) of two estimates. */
  driftScore,
  /** The prior of an `external` job item. */
  EXTERNAL_PRIOR,
  /** One drift evaluation, if this interval has none yet and V2 is enabled (never throws). */
  evaluateDrift,
  /** Forget this process's cached breaker state and evaluation throttle. */
  forgetBreakerCache,
  /** One canary report by id. */
  getCanaryReport,
  /** One reference dataset with its samples (GET .../datasets/{id}). */
  getDataset,
  /** SHA-256 of the canonical JSON (sorted keys) of a value. */
  hashOf,
  /** The epsilon smoothing empty KL bins. */
  KL_EPSILON,
  /** KL(P || Q) of two value lists over fixed bins; order-independent, 0 for identical lists. */
  klDivergence,
  /** KL(P || Q) from per-bin counts (what the SQL report counts); klDivergence's arithmetic. */
  klFromCounts,
  /** Canary reports, newest first. */
  listCanaryReports,
  /** The five reference datasets without their samples (GET .../datasets). */
  listDatasets,
  /** Drift breaker incidents, newest first. */
  listIncidents,
  /** Fewest compared rows a divergence report stands on by default. */
  MIN_DIVERGENCE_SAMPLES,
  /** Below this many samples a history figure falls back to V1's prior. */
  MIN_HISTORY_SAMPLES,
  /** Alerts waiting for delivery, set into costsim_cb_alert_queue_depth. */
  measureDepth,
  /** Check a dataset file's shape, name and the seed's sample count. */
  parseDataset,
  /** A workflow (steps and input) or a job spawn body as the one plan both estimators read. */
  planOf,
  /** The settings a plan is read with (the caps a spawn or a run would meet): what simulate, a run and a spawn use alike. */
  planOptions,
  /** 'workflow:<name>@<version>' | 'job:<task>' | 'inline' of a plan. */
  planRefOf,
  /** The V1 prior (duration, failure) of a skill or of `external`. */
  priorOf,
  /** A quantile with linear interpolation (percentile_cont). */
  quantile,
  /** A simulated plan ran: its cost and wall time recorded beside the tenant's estimates of it (by plan hash). */
  recordActual,
  /** One comparison into costsim_provenance for the context's tenant: upserted by input hash, a redelivery counts once. */
  recordComparison,
  /** The recovery after DEFAULT_DISABLE_TTL_HOURS: one worker of many, only after a passing canary. */
  recover,
  /** Every waiting alert's message sent again now (the local runtime after a restart). */
  redriveAlerts,
  /** |a - b| / max(|a|, |b|). */
  relativeDifference,
  /** The CostsimShadowRelay cron's work: the waiting shadow requests sent to CostsimShadow, oldest first. */
  relayRequests,
  /** The canary's replay: the deployed V1 and V2 run again on the newest recorded inputs, judged. */
  replayRecent,
  /** An admin re-enables V2 now, with a reason. */
  reset,
  /** One canary run (one at a time: CanaryRunningError for the others); a failure disables V2. */
  runCanary,
  /** The CostsimSafety cron's minute: evaluation, recovery, alerts, gauges, trims. */
  runSafety,
  /** The CostsimShadow worker's work: V1 again, V2 with the tenant's history, compared, recorded, counted. */
  runShadow,
  /** The seed's datasets and their sample counts. */
  SEED_DATASETS,
  /** The seed's drift thresholds (0.2, 0.15). */
  SEED_THRESHOLDS,
  /** The queue of shadow comparisons: CostsimShadow. */
  SHADOW_QUEUE,
  /** The Redis stream of shadow requests waiting for the relay. */
  SHADOW_STREAM,
  /** At most this many shadow requests wait (the stream's cap). */
  SHADOW_STREAM_MAX,
  /** V1's stated priors per skill. */
  SKILL_PRIORS,
  /** How long a process trusts its read of the breaker on the hot paths (ms). */
  STATE_CACHE_MS,
  /** Confidence from a sample size alone. */
  sampleConfidence,
  /** The daily CostsimCanary run (steps aside quietly when one runs). */
  scheduledCanary,
  /** V1 returned, V2 run beside it and compared (a V2 error never reaches the caller). */
  shadow,
  /** V1 for the caller's tenant (its credits, a budget); with the sandbox on, V2 queued off the request path. */
  simulate,
  /** V2 alone for the caller's tenant, from the history its caller reads (the operator route). */
  simulateCandidate,
  /** V1's estimate of a plan (production). */
  simulateV1,
  /** V2's estimate of a plan from the tenant's history (candidate), with confidence and fallbacks. */
  simulateV2,
  /** The skills a plan calls, sorted, once each. */
  skillsOf,
  /** The V2 sandbox's status for the tenant: versions, counts by verdict, accuracy, promotion. */
  status,
  /** The CostsimSafety cron's alert part: re-assert, re-drive, depth. */
  sweepAlerts,
  /** A failed canary disables V2 now (or keeps it disabled another TTL). */
  tripOnCanary,
  /** The version provenance records for V1. */
  V1_VERSION,
  /** The version provenance records for V2. */
  V2_VERSION,
  /** V1 as an estimator for validateDataset. */
  v1Estimator,
  /** Whether V2 may run now (fail open: a breaker that cannot be read is enabled). */
  v2Enabled,
  /** V2 as an estimator for validateDataset. */
  v2Estimator,
  /** Every reference dataset validated by V1, V2 or both. */
  validateAllDatasets,
  /** An estimator against a reference dataset: error figures, KL, pass or fail against its thresholds. */
  validateDataset,
  /** One reference dataset by name validated by V1, V2 or both. */
  validateDatasetNamed,
  /** The verdict of a drift score against the thresholds. */
  verdictOf,
};
