/**
 * What operators read of the drift breaker (breaker.ts): its state as Postgres has it, with its
 * open incident and last evaluation (the V2 status, /health, the reset's reply), and the incidents.
 */
import { config } from "../config.ts";
import { type BreakerState, BreakerStates, readBreaker, stateAt } from "../platform/breaker/index.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import type { EvaluationRow, IncidentRow } from "./breaker.sql.ts";
import * as sql from "./breaker.sql.ts";
import { BREAKER_KEY, driftReader } from "./breaker-state.ts";

type Outcome = EvaluationRow["outcome"];
type Trigger = IncidentRow["trigger"];

/** What the status, /health and the reset reply show of the breaker. */
export interface BreakerStatus {
  state: BreakerState;
  v2_enabled: boolean;
  consecutive_failures: number;
  failure_threshold: number;
  disabled_at: string | null;
  disabled_until: string | null;
  open_incident: IncidentView | null;
  last_evaluation: { at: string; outcome: Outcome; figures: Record<string, unknown> } | null;
}

export interface IncidentView {
  id: string;
  trigger: Trigger;
  reason: string;
  figures: Record<string, unknown>;
  opened_at: string;
  disabled_until: string;
  resolved_at: string | null;
  resolution: "auto_recovery" | "reset" | null;
  resolved_by: string | null;
  resolution_reason: string | null;
}

/**
 * Who acted, as every tenant may read it: the breaker and its canary are the platform's, so an
 * incident or a report is read by every tenant's keys, and a key's id (another tenant's) is not
 * theirs to see; the rows keep it (costsim_cb_incidents.resolved_by, status_history's actor).
 */
export const publicActor = (name: string): string => (name.startsWith("key:") ? "an admin key" : name);

export const incidentView = (i: IncidentRow): IncidentView => ({
  id: i.id,
  trigger: i.trigger,
  reason: i.reason,
  figures: i.figures,
  opened_at: i.opened_at.toISOString(),
  disabled_until: i.disabled_until.toISOString(),
  resolved_at: i.resolved_at?.toISOString() ?? null,
  resolution: i.resolution,
  resolved_by: i.resolved_by === null ? null : publicActor(i.resolved_by),
  resolution_reason: i.resolution_reason,
});

/** The breaker as Postgres has it (the durable state), its open incident and last evaluation. */
export async function breakerStatus(): Promise<BreakerStatus> {
  const [row, { rows: open }, { rows: evals }] = await Promise.all([
    readBreaker(driftReader, BREAKER_KEY),
    query<IncidentRow>(sql.openIncident),
    query<EvaluationRow>(sql.lastEvaluation),
  ]);
  const state: BreakerState = row
    ? stateAt({ state: row.state, cooldownUntil: row.cooldown_until?.getTime() ?? null }, clock().nowMs())
    : BreakerStates.closed;
  const last = evals[0];
  return {
    state,
    v2_enabled: state === BreakerStates.closed,
    consecutive_failures: row?.failure_count ?? 0,
    failure_threshold: config().costsim.breaker.failureThreshold,
    disabled_at: row?.opened_at?.toISOString() ?? null,
    disabled_until: row?.cooldown_until?.toISOString() ?? null,
    open_incident: open[0] ? incidentView(open[0]) : null,
    last_evaluation: last ? { at: last.started_at.toISOString(), outcome: last.outcome, figures: last.figures } : null,
  };
}

/**
 * Incidents, newest first, a page at a time (`open` true: those not ended; false: those ended).
 *
 * @example
 *   await Costsim.listIncidents({ limit: 20, open: true }); // { data: [{ trigger: "drift", figures: {...} }], next_cursor }
 */
export async function listIncidents(q: {
  limit: number;
  cursor?: string;
  open?: boolean;
}): Promise<Page<IncidentView>> {
  const after = decodeCursor(q.cursor, [cursorPart.isoTime, cursorPart.uuid]);
  const { rows } = await query<IncidentRow>(sql.listIncidents, [
    q.limit + 1,
    after?.[0] ?? null,
    after?.[1] ?? null,
    q.open ?? null,
  ]);
  const p = toPage(rows, q.limit, (r) => [r.opened_at.toISOString(), r.id]);
  return { data: p.data.map(incidentView), next_cursor: p.next_cursor };
}
