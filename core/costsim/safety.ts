/**
 * The CostsimSafety cron's minute (functions/cron/costsim-safety.ts): the drift evaluation when
 * no shadow worker has made this interval's, the recovery of a breaker whose TTL is over, the
 * alerts (re-asserted, lost messages re-driven, the queue's depth), the breaker's gauges set from
 * Postgres (a gauge set only at transitions would be missing after a restart), and old
 * evaluations, delivered alerts, recorded inputs past the canary's window and comparisons past
 * COSTSIM_PROVENANCE_RETENTION_DAYS trimmed. Each part
 * runs whatever the others did: one failing is logged and the rest go on; the run fails (its cron
 * metric) only when a part threw.
 */

import { config } from "../config.ts";
import { breakerStateValue } from "../platform/breaker/index.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { trimAlerts } from "./alerts.sql.ts";
import { sweepAlerts } from "./alerts.ts";
import { trimEvaluations } from "./breaker.sql.ts";
import { recover } from "./breaker.ts";
import { trimInputs } from "./canary.sql.ts";
import { evaluateDrift } from "./evaluate.ts";
import { breakerStatus } from "./incidents.ts";
import { costsimMetrics as m } from "./metrics.ts";
import { trimProvenance } from "./provenance.sql.ts";

/** Evaluations are kept a week (the figures behind recent decisions); delivered resolved alerts a month. */
const EVALUATIONS_KEPT_MS = 7 * 86_400_000;
const ALERTS_KEPT_MS = 30 * 86_400_000;
/**
 * Recorded inputs, and comparisons past COSTSIM_PROVENANCE_RETENTION_DAYS, deleted per run at
 * most: 14.4M a day each, far above what the shadow records (a backlog drains in short statements).
 */
const TRIMMED_PER_RUN = 10_000;

export interface SafetyRun {
  evaluation: Awaited<ReturnType<typeof evaluateDrift>>;
  recovery: { recovered: boolean; why?: string } | null;
  alerts: { reasserted: number; resent: number; depth: number } | null;
  /** Rows deleted by this run's trim (null when it failed): recorded inputs past the canary's window, comparisons past retention. */
  trimmed: { inputs: number; provenance: number } | null;
  errors: string[];
}

/**
 * One run. Throws (after every part ran) when a part failed, so the cron counts an error.
 *
 * @example
 *   const r = await Costsim.runSafety(); // { evaluation: { evaluated: true, outcome: "pass", ... }, recovery: {...}, ... }
 */
export async function runSafety(): Promise<SafetyRun> {
  const errors: string[] = [];
  const part = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (e) {
      errors.push(name);
      log.error("CostsimSafety part failed", { part: name, err: e });
      return null;
    }
  };
  const evaluation = await evaluateDrift();
  const r = await part("recover", recover);
  const recovery = r === null ? null : r.recovered ? { recovered: true } : { recovered: false, why: r.why };
  const alerts = await part("alerts", sweepAlerts);
  await part("gauges", async () => {
    const s = await breakerStatus();
    m.breakerState.set({}, breakerStateValue[s.state]);
    m.consecutiveFailures.set({}, s.consecutive_failures);
  });
  const trimmed = await part("trim", async () => {
    const now = clock().nowMs();
    const { costsim: c } = config();
    await query(trimEvaluations, [new Date(now - EVALUATIONS_KEPT_MS)]);
    await query(trimAlerts, [new Date(now - ALERTS_KEPT_MS)]);
    // Recorded inputs the canary no longer reads, and comparisons past retention: a bounded batch
    // of each a minute (a backlog drains).
    const inputs = await query(trimInputs, [new Date(now - c.canary.windowHours * 3600_000), TRIMMED_PER_RUN]);
    const provenance = await query(trimProvenance, [
      new Date(now - c.provenanceRetentionDays * 86_400_000),
      TRIMMED_PER_RUN,
    ]);
    return { inputs: inputs.rowCount ?? 0, provenance: provenance.rowCount ?? 0 };
  });
  const run = { evaluation, recovery, alerts, trimmed, errors };
  if (errors.length) throw Object.assign(new Error(`CostsimSafety parts failed: ${errors.join(", ")}`), { run });
  return run;
}
