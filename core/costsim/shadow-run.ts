/**
 * The CostsimShadow consumer's work for one message: V1 computed again from the plan (V1 is pure:
 * the caller's credits, duration and p_failure), V2 on the same plan with the tenant's history,
 * both checked against the message's options or, in a message without them (simulate.ts writes
 * the request beside its credits read), the budget and the tenant's available credits now;
 * compared (compare.ts), recorded in costsim_provenance (unless COSTSIM_PROVENANCE_ENABLED is off)
 * with `compared_at` (a run that begins later is a hold-out for it) and counted in the
 * `costsim_v2_*` metrics.
 *
 * A V2 that throws, or answers outside its schema, is a `v2_error` comparison and one
 * `costsim_v2_schema_errors_total`: recorded like any other, never an error of the message (it is
 * acknowledged) and never the caller's. A redelivered message finds its comparison recorded
 * already (the same input at the same time) and counts nothing again.
 */
import { config } from "../config.ts";
import { useContext, withContext } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { done, type QueueOutcome } from "../platform/queue-outcome.ts";
import type { HistoryReader, ShadowMessage } from "./api-schema.ts";
import { v2EnabledCached } from "./breaker-state.ts";
import { compare, hashOf } from "./compare.ts";
import { evaluateDrift } from "./evaluate.ts";
import { costsimMetrics as m } from "./metrics.ts";
import { recordComparison } from "./record.ts";
import type { Comparison } from "./schema.ts";
import { feasibilityOptions } from "./simulate.ts";
import { simulateV1 } from "./simulate-v1.ts";
import { simulateV2 } from "./simulate-v2.ts";

/** The drift thresholds of the configuration (COSTSIM_DRIFT_THRESHOLD, _WARNING_THRESHOLD). */
export function thresholds() {
  const c = config().costsim;
  return { drift: c.driftThreshold, warning: c.driftWarningThreshold };
}

function count(c: Comparison): void {
  m.verdicts.inc({ verdict: c.verdict });
  if (c.verdict === "v2_error") {
    m.schemaErrors.inc();
    return;
  }
  if (c.drift_score !== null) m.driftScore.observe({}, c.drift_score);
  if (c.cost_delta !== null) m.costDelta.observe({}, c.cost_delta);
}

/**
 * Compare V1 and V2 on the message's plan and record it for the message's tenant.
 *
 * @example
 *   await Costsim.runShadow(msg, readHistory); // done(); the row: costsim_provenance (tenant, input_hash)
 */
export async function runShadow(msg: ShadowMessage, readHistory: HistoryReader): Promise<QueueOutcome> {
  // The record's request and correlation ids (the queue kit's context), acting for its tenant.
  const outer = useContext();
  const ctx = {
    requestId: outer?.requestId ?? `costsim-shadow:${msg.at}`,
    correlationId: outer?.correlationId ?? `costsim-shadow:${msg.at}`,
    actor: { type: "system" as const, name: "costsim-shadow", tenantId: msg.tenantId },
  };
  return withContext(ctx, async () => {
    // V2 disabled by the drift breaker: the request is acknowledged, not compared.
    if (!(await v2EnabledCached())) {
      m.shadowRequests.inc({ outcome: "disabled" });
      return done();
    }
    const { plan } = msg;
    // A history or balance that cannot be read (the database) throws: the message is retried, not a v2_error.
    const [history, options] = await Promise.all([
      readHistory({ kind: plan.kind, name: plan.name, skills: msg.skills }),
      msg.options ?? feasibilityOptions(msg.budget),
    ]);
    const v1 = simulateV1(plan, options);
    const timer = m.simulationSeconds.startTimer();
    let v2: unknown;
    try {
      v2 = simulateV2(plan, history, options);
    } catch (e) {
      v2 = e instanceof Error ? e : new Error(String(e));
    }
    timer();
    // The input is what the caller gave: the available credits read here are not part of it, so
    // a redelivery that reads another balance is still the same input at the same time.
    const given = msg.options ?? (msg.budget === undefined ? {} : { budget: msg.budget });
    const comparison = compare({ plan, options: given, history, v1, v2 }, thresholds());
    const v2Reply = comparison.verdict === "v2_error" ? null : (v2 as { p_failure: number });
    if (!config().costsim.provenanceEnabled) {
      count(comparison);
      return done();
    }
    const recorded = await recordComparison({
      source: "shadow",
      plan_ref: msg.planRef,
      plan_hash: hashOf(plan),
      skills: msg.skills,
      comparison,
      v1_p_failure: v1.p_failure,
      v2_p_failure: v2Reply?.p_failure ?? null,
      outputs: { v1, v2: v2 instanceof Error ? null : (v2 ?? null), v2_error: comparison.v2_error },
      at: new Date(msg.at),
      // After V2 read its history: a run that begins later is a hold-out for this comparison.
      compared_at: clock().now(),
      // What the canary runs the deployed V1 and V2 on again (replay.ts).
      input: { plan, given, options, history },
    });
    // A redelivery (or an older simulation after a newer one) is not counted again.
    if (recorded.outcome !== "unchanged") count(comparison);
    // This interval's drift evaluation, if no worker has made it yet (never throws).
    await evaluateDrift();
    return done();
  });
}
