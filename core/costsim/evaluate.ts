/**
 * The drift breaker's evaluation (breaker.ts): at most once per COSTSIM_CB_EVAL_INTERVAL_S across
 * every worker (whoever inserts the interval's costsim_cb_evaluations row), the p95 drift score
 * and the schema errors of every tenant's recent comparisons judged: pass, fail or
 * insufficient_data, with the figures kept on the row (an operator sees the values, not only the
 * verdict). Called by the shadow worker after each comparison it records (a process skips the
 * interval it has seen taken) and by the CostsimSafety cron.
 */
import { config } from "../config.ts";
import { BreakerStates, openBreaker, readBreaker } from "../platform/breaker/index.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import type { EvaluationRow } from "./breaker.sql.ts";
import * as sql from "./breaker.sql.ts";
import { driftBreaker } from "./breaker.ts";
import { BREAKER_KEY, forgetStateCache, v2Enabled } from "./breaker-state.ts";
import { costsimMetrics as m } from "./metrics.ts";

export type Outcome = EvaluationRow["outcome"];

export interface Evaluation {
  /** False when another worker took this interval's evaluation, or V2 is disabled already. */
  evaluated: boolean;
  outcome?: Outcome;
  figures?: Record<string, unknown>;
  consecutive_failures?: number;
  tripped?: boolean;
}

/** Last bucket this process evaluated or saw taken: spares a statement per message. */
let lastBucket = -1;

interface Figures {
  samples: number;
  p95_drift: number | null;
  over_threshold: number;
  schema_errors: number;
}

/**
 * One drift evaluation, if this interval has none yet and V2 is enabled: the window's figures
 * judged, the consecutive failures counted (the platform breaker's failure count), a trip when
 * due. Never throws: a failure to evaluate is logged (V2 stays as it is).
 *
 * @example
 *   const e = await Costsim.evaluateDrift(); // { evaluated: true, outcome: "fail", consecutive_failures: 2, ... }
 */
export async function evaluateDrift(): Promise<Evaluation> {
  const c = config().costsim;
  const now = clock().now();
  const bucket = Math.floor(now.getTime() / (c.breaker.evalIntervalS * 1000));
  if (bucket === lastBucket) return { evaluated: false };
  try {
    if (!(await v2Enabled())) return { evaluated: false };
    const { rows: claimed } = await query<{ id: string }>(sql.claimEvaluation, [bucket, now]);
    lastBucket = bucket;
    const id = claimed[0]?.id;
    if (!id) return { evaluated: false };
    const since = new Date(now.getTime() - c.breaker.windowS * 1000);
    const schemaSince = new Date(now.getTime() - c.breaker.schemaErrorWindowS * 1000);
    const { rows } = await query<Figures>(sql.windowFigures, [since, schemaSince, now, c.driftThreshold]);
    const f = rows[0] as Figures;
    const figures = {
      window_s: c.breaker.windowS,
      samples: f.samples,
      min_samples: c.breaker.minSamples,
      p95_drift: f.p95_drift === null ? null : Math.round(f.p95_drift * 1e4) / 1e4,
      drift_threshold: c.driftThreshold,
      over_threshold: f.over_threshold,
      schema_errors: f.schema_errors,
      schema_error_threshold: c.schemaErrorThreshold,
      schema_error_window_s: c.breaker.schemaErrorWindowS,
    };
    let outcome: Outcome;
    let tripped = false;
    const permit = { key: BREAKER_KEY, probeId: null };
    if (f.schema_errors > c.schemaErrorThreshold) {
      outcome = "fail";
      const reason = `${f.schema_errors} V2 schema errors in ${c.breaker.schemaErrorWindowS} s (more than COSTSIM_SCHEMA_ERROR_THRESHOLD ${c.schemaErrorThreshold})`;
      await openBreaker(driftBreaker, BREAKER_KEY, { reason, metadata: { trigger: "schema_errors", figures } });
      tripped = true;
    } else if (f.samples < c.breaker.minSamples || f.p95_drift === null) {
      outcome = "insufficient_data";
    } else if (f.p95_drift > c.driftThreshold) {
      outcome = "fail";
      const why = new Error(
        `p95 drift ${figures.p95_drift} > COSTSIM_DRIFT_THRESHOLD ${c.driftThreshold} over ${f.samples} comparisons of ${c.breaker.windowS} s`,
      );
      why.name = "Drift";
      await driftBreaker.fail(permit, why, { trigger: "drift", figures });
    } else {
      outcome = "pass";
      await driftBreaker.succeed({ ...permit, failuresSeen: undefined });
    }
    const row = await readBreaker(driftBreaker, BREAKER_KEY);
    const consecutive = row?.failure_count ?? 0;
    tripped ||= outcome === "fail" && row?.state === BreakerStates.open;
    await query(sql.finishEvaluation, [id, outcome, figures, consecutive, tripped]);
    m.evaluations.inc({ outcome });
    m.consecutiveFailures.set({}, consecutive);
    if (tripped) log.warn("CostSim V2 disabled by its drift breaker", { outcome, figures });
    return { evaluated: true, outcome, figures, consecutive_failures: consecutive, tripped };
  } catch (e) {
    log.error("CostSim drift evaluation failed; V2 stays as it was", { err: e });
    return { evaluated: false };
  }
}

/** Forget this process's evaluation throttle and cached breaker state (tests move time by hand). */
export function forgetBreakerCache(): void {
  lastBucket = -1;
  forgetStateCache();
}
