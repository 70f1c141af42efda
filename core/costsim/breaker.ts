/**
 * The V2 drift breaker (seed 004 M6.2 "auto-disable on high drift", seed 001 PIN-028): the
 * platform breaker (core/platform/breaker) of kind `costsim`, one for every tenant (target `v2`,
 * no tenant; `costsim_cb_state` is its row as a view). CLOSED: V2 runs in the shadow. OPEN: V2 is
 * disabled (no shadow request is stored, a waiting one is not compared); V1 answers every caller
 * either way. Its kind and the hot paths' read of it (`v2Enabled`) are in breaker-state.ts.
 *
 * - **Evaluation** (evaluate.ts), at most once per COSTSIM_CB_EVAL_INTERVAL_S across every
 *   worker: the p95 drift score of every tenant's comparisons of the last COSTSIM_CB_WINDOW_S.
 *   Three outcomes: `pass` (forgets failures), `fail` (p95 above COSTSIM_DRIFT_THRESHOLD: one more
 *   consecutive failure; COSTSIM_CB_FAILURE_THRESHOLD of them disable V2) and `insufficient_data`
 *   (fewer than COSTSIM_CB_MIN_SAMPLES comparisons: neither a pass nor a failure). More than
 *   COSTSIM_SCHEMA_ERROR_THRESHOLD v2_error comparisons in COSTSIM_SCHEMA_ERROR_WINDOW_S disable
 *   V2 at once; so does a failing canary (`tripOnCanary`).
 * - **A trip** writes an incident (costsim_cb_incidents: trigger, reason, figures, until when) and
 *   queues its alert (alerts.ts), in the transaction that opens the breaker; V2 stays disabled
 *   DEFAULT_DISABLE_TTL_HOURS.
 * - **Recovery** (`recover`, the CostsimSafety cron): once the TTL is over, exactly one worker
 *   re-enables V2 under the row's lock, and only when the latest canary that finished after the
 *   trip passed; otherwise V2 stays disabled and the answer says why. An admin's `reset` re-enables
 *   it at once, with a reason. Either resolves the incidents and their alerts.
 * - **Fail open**: when the breaker's own store cannot be read, V2 stays enabled (seed 001 #1),
 *   logged and counted (`aos_breaker_store_errors_total{breaker="costsim"}`).
 */
import { actorName, useActor } from "../context.ts";
import {
  BreakerStates,
  closeBreaker,
  defineBreaker,
  openBreaker,
  type Recovery,
  recoverBreaker,
  type Transition,
} from "../platform/breaker/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query } from "../platform/db/index.ts";
import { record as recordHistory } from "../platform/history/index.ts";
import { log } from "../platform/logger.ts";
import { SYSTEM_TENANT_ID } from "../tenancy/index.ts";
import { raiseAlert, resolveAlerts } from "./alerts.ts";
import type { IncidentRow } from "./breaker.sql.ts";
import * as sql from "./breaker.sql.ts";
import { BREAKER_KEY, driftKind, forgetStateCache } from "./breaker-state.ts";
import { latestCanarySince } from "./canary.sql.ts";
import { type BreakerStatus, breakerStatus } from "./incidents.ts";
import { costsimMetrics as m } from "./metrics.ts";

export type Trigger = IncidentRow["trigger"];

/** What a trip or a recovery hands its transition (the platform breaker passes it through). */
interface Meta {
  trigger?: Trigger;
  figures?: Record<string, unknown>;
  how?: "auto_recovery" | "reset";
}

/**
 * A transition, in its transaction: status_history (entity `costsim_breaker`, under the platform
 * tenant), and the incident and its alert (a trip) or their end (a recovery).
 */
async function onTransition({ row, from, reason, metadata }: Transition): Promise<void> {
  const meta = (metadata ?? {}) as Meta;
  await recordHistory({
    entity_type: "costsim_breaker",
    entity_id: row.target,
    old_status: from,
    new_status: row.state,
    reason: reason.slice(0, 2000),
    metadata: {
      consecutive_failures: row.failure_count,
      disabled_until: row.cooldown_until?.toISOString() ?? null,
      ...metadata,
    },
    tenant_id: SYSTEM_TENANT_ID,
  });
  if (row.state === BreakerStates.open && from !== BreakerStates.open && from !== BreakerStates.halfOpen) {
    const trigger = meta.trigger ?? "drift";
    const { rows } = await query<IncidentRow>(sql.insertIncident, [
      trigger,
      reason,
      meta.figures ?? {},
      row.opened_at,
      row.cooldown_until,
    ]);
    await raiseAlert(rows[0] as IncidentRow);
    afterCommit(() => {
      m.disabled.inc({ trigger });
      m.incidents.inc({ trigger });
    });
  } else if (row.state === BreakerStates.open) {
    // Tripped again while disabled (a failing canary): the open incident lasts as long.
    await query(sql.extendOpenIncidents, [row.cooldown_until]);
  } else if (row.state === BreakerStates.closed && from !== BreakerStates.closed) {
    const how = meta.how ?? "reset";
    const { rows } = await query<IncidentRow>(sql.resolveOpenIncidents, [
      clock().now(),
      how,
      actorName(useActor()),
      reason,
    ]);
    await resolveAlerts(rows.map((i) => i.id));
    afterCommit(() => {
      m.enabled.inc({ how });
      if (how === "auto_recovery") m.autoRecoveries.inc();
    });
  }
}

export const driftBreaker = defineBreaker({ ...driftKind, onTransition });

/** A failed canary disables V2 now (or keeps it disabled another TTL). */
export async function tripOnCanary(reportId: string, failures: readonly string[]): Promise<void> {
  const reason = `canary ${reportId} failed: ${failures.join("; ")}`.slice(0, 2000);
  await openBreaker(driftBreaker, BREAKER_KEY, {
    reason,
    metadata: { trigger: "canary", figures: { canary_report_id: reportId, failures } },
  });
}

/**
 * The CostsimSafety cron's recovery: V2 re-enabled once DEFAULT_DISABLE_TTL_HOURS are over, by
 * exactly one of any number of concurrent callers (the row's lock), and only when the latest
 * canary that finished after the trip passed.
 *
 * @example
 *   const r = await Costsim.recover(); // { recovered: false, why: "no canary has finished since the trip ..." }
 */
export async function recover(): Promise<Recovery> {
  const r = await recoverBreaker(driftBreaker, BREAKER_KEY, {
    reason: "DEFAULT_DISABLE_TTL_HOURS over and the latest canary passed: V2 re-enabled",
    guard: async (row) => {
      const since = row.opened_at ?? new Date(0);
      const { rows } = await query<{ id: string; status: string; finished_at: Date }>(latestCanarySince, [since]);
      const latest = rows[0];
      if (!latest)
        return `no canary has finished since the trip at ${since.toISOString()} (the daily CostsimCanary, or POST /api/v1/costsim/canary/run)`;
      if (latest.status !== "passed") return `the latest canary (${latest.id}) ended ${latest.status}`;
      return null;
    },
    metadata: () => ({ how: "auto_recovery" }),
  });
  // Said once the TTL is over (a canary missing or failed): before, every minute would say it.
  if (!r.recovered && r.why !== "the breaker is closed" && !r.why.startsWith("disabled until"))
    log.info("CostSim V2 stays disabled", { why: r.why });
  return r;
}

/**
 * An admin re-enables V2 now, with a reason (kept with the incidents it ends and in
 * status_history); the breaker's failures are forgotten. A closed breaker without failures is left
 * as it is (nothing recorded). Returns the breaker as it is after.
 *
 * @example
 *   await Costsim.reset({ reason: "V2 0.4.1 fixes the drift of embed steps" }); // { state: "CLOSED", v2_enabled: true, ... }
 */
export async function reset(body: { reason: string }): Promise<BreakerStatus> {
  const before = await breakerStatus();
  // A closed breaker with nothing to forget: nothing to record either.
  if (before.state === BreakerStates.closed && before.consecutive_failures === 0) return before;
  await closeBreaker(driftBreaker, BREAKER_KEY, { reason: `reset: ${body.reason}`, metadata: { how: "reset" } });
  forgetStateCache();
  return breakerStatus();
}
