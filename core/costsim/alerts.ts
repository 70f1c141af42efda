/**
 * The drift breaker's alerts, sent to Alertmanager's API v2 (`POST <url>/api/v2/alerts`) the way
 * Prometheus sends its own (anchors: Alertmanager): a stable label set per incident, so that every
 * re-send is the same alert to Alertmanager; an `endsAt` lease (4 x COSTSIM_ALERT_RESEND_S ahead)
 * re-asserted every COSTSIM_ALERT_RESEND_S while the breaker stays open, so an alert whose sender
 * died resolves by itself; an explicit resolve (`endsAt` = now) when it closes; every URL of
 * ALERTMANAGER_URL gets every alert (an HA set is never reached through a load balancer).
 *
 * Unlike Prometheus, nothing is dropped while Alertmanager is away: each alert is a
 * costsim_alert_queue row (alerts.sql.ts) written in the transaction of the trip or of the
 * recovery, and the AlertDelivery queue's message is only its wake-up call (the platform outbox:
 * sent after commit, re-driven by the CostsimSafety cron when lost). A failed POST is retried after
 * an exponential backoff with full jitter (COSTSIM_ALERT_BACKOFF_BASE_S doubling up to _MAX_S), as
 * a delayed message; URLs that accepted a version are not sent it again.
 */
import { randomUUID } from "node:crypto";
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import {
  defineOutbox,
  enqueueAfterCommit,
  enqueueNow,
  redriveOutbox,
  type SweepOutboxResult,
  sweepOutbox,
} from "../platform/outbox/index.ts";
import { done, type QueueOutcome } from "../platform/queue-outcome.ts";
import { SYSTEM_TENANT_ID } from "../tenancy/index.ts";
import type { AlertRow } from "./alerts.sql.ts";
import * as sql from "./alerts.sql.ts";
import type { AlertMessage } from "./api-schema.ts";
import type { IncidentRow } from "./breaker.sql.ts";
import { costsimMetrics as m } from "./metrics.ts";

/** The queue of alert deliveries (functions/routes.ts). */
export const ALERT_QUEUE = "AlertDelivery";

/** The alert AOS sends for an incident (its rules name the Prometheus-side alerts). */
export const ALERT_NAME = "CostSimV2Disabled";

/** A sender holds an alert this long: longer than its POSTs (all at once, each timed out). */
const CLAIM_LEASE_S = 60;

export const alertOutbox = defineOutbox<{ id: string }>({
  name: "costsim_alerts",
  queue: ALERT_QUEUE,
  ...sql.alertOutboxTable,
  // The platform's alerts concern no tenant's data: the platform tenant is named.
  message: (r): AlertMessage => ({ v: 1, tenantId: SYSTEM_TENANT_ID, alertId: r.id }),
  unsentGraceS: 30,
  batch: 100,
  maxBatches: 5,
});

const leaseEnd = (now: Date) => new Date(now.getTime() + 4 * config().costsim.alerts.resendS * 1000);

const TRIGGER_TEXT: Record<IncidentRow["trigger"], string> = {
  drift: "V2's estimates drifted from V1's",
  schema_errors: "V2 failed its reply schema too often",
  canary: "the canary failed",
};

/** The alert of an incident: labels (its identity in Alertmanager) and annotations. */
export function alertOf(i: IncidentRow): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: {
      alertname: ALERT_NAME,
      severity: "page",
      priority: "P1",
      subsystem: "costsim",
      trigger: i.trigger,
      incident_id: i.id,
    },
    annotations: {
      summary: `CostSim V2 disabled: ${TRIGGER_TEXT[i.trigger]}`,
      description: `${i.reason}. V2 (the shadow) is disabled until ${i.disabled_until.toISOString()}, then re-enabled only if the latest canary passes; V1 answers every caller meanwhile.`,
      runbook_url: "docs/runbooks/costsim-circuit-breaker.md#costsimv2disabled",
      figures: JSON.stringify(i.figures),
    },
  };
}

/** In the trip's transaction: the incident's alert queued, its message sent after commit. */
export async function raiseAlert(incident: IncidentRow): Promise<AlertRow> {
  const now = clock().now();
  const { labels, annotations } = alertOf(incident);
  const { rows } = await query<AlertRow>(sql.insertAlert, [
    incident.id,
    labels,
    annotations,
    incident.opened_at,
    leaseEnd(now),
    now,
  ]);
  const row = rows[0] as AlertRow;
  enqueueAfterCommit(alertOutbox, [row]);
  return row;
}

/** In the recovery's transaction: the incidents' alerts resolved (endsAt now), sent after commit. */
export async function resolveAlerts(incidentIds: readonly string[]): Promise<AlertRow[]> {
  if (incidentIds.length === 0) return [];
  const { rows } = await query<AlertRow>(sql.resolveAlerts, [incidentIds, clock().now()]);
  enqueueAfterCommit(alertOutbox, rows);
  return rows;
}

/**
 * Firing alerts not sent for COSTSIM_ALERT_RESEND_S get a new endsAt lease and are sent again
 * (those still waiting keep their backoff and send the new lease at their next attempt). Returns
 * how many were re-asserted.
 */
export async function reassertAlerts(): Promise<number> {
  const now = clock().now();
  // Due a few seconds early: the cron that calls this runs every minute, and an alert sent just
  // after a run would otherwise wait two runs (its endsAt lease is four).
  const due = Math.max(1, config().costsim.alerts.resendS - 5);
  const { rows } = await query<AlertRow>(sql.reassertAlerts, [now, due, leaseEnd(now)]);
  // A row that was delivered has no message under way: it gets one now.
  await enqueueNow(
    alertOutbox,
    rows.filter((r) => r.sent_version === r.version - 1),
  );
  return rows.length;
}

type SendFailureKind = "status" | "network" | "timeout";

/** One POST of one alert to one Alertmanager; null when accepted, else what went wrong. */
async function post(url: string, alert: AlertRow): Promise<{ kind: SendFailureKind; error: string } | null> {
  const body = [
    {
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.starts_at.toISOString(),
      endsAt: alert.ends_at.toISOString(),
    },
  ];
  try {
    const res = await fetch(`${url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(config().costsim.alerts.sendTimeoutMs),
    });
    const text = await res.text().catch(() => "");
    if (res.ok) return null;
    return { kind: "status", error: `${url}: HTTP ${res.status} ${text.slice(0, 200)}` };
  } catch (e) {
    const err = e as Error;
    const timeout = err.name === "TimeoutError" || err.name === "AbortError";
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    return { kind: timeout ? "timeout" : "network", error: `${url}: ${timeout ? "no answer in time" : cause}` };
  }
}

/** The delay before attempt `attempts + 1`: exponential, full jitter, at least a second. */
export function backoffS(attempts: number, random: () => number = Math.random): number {
  const { backoffBaseS, backoffMaxS } = config().costsim.alerts;
  const cap = Math.min(backoffMaxS, backoffBaseS * 2 ** Math.min(attempts, 20));
  return Math.max(1, Math.round(random() * cap));
}

/** Alerts waiting for delivery, into costsim_cb_alert_queue_depth. */
export async function measureDepth(): Promise<number> {
  const { rows } = await query<{ depth: number }>(sql.depth);
  const d = rows[0]?.depth ?? 0;
  m.alertQueueDepth.set({}, d);
  return d;
}

/**
 * The AlertDelivery worker's work for one message: claim the alert (nothing when it is delivered
 * or another sender holds it), POST its current version to every URL that has not accepted it,
 * note who did; on a failure, a retry after the backoff. Idempotent: a redelivered message finds
 * the alert delivered or claimed and does nothing.
 */
export async function deliverAlert(msg: AlertMessage): Promise<QueueOutcome> {
  const urls = config().costsim.alerts.alertmanagerUrls;
  const claimId = randomUUID();
  const { rows } = await query<AlertRow>(sql.claimAlert, [msg.alertId, claimId, clock().now(), CLAIM_LEASE_S]);
  const alert = rows[0];
  if (!alert) return done();
  if (urls.length === 0) {
    log.warn("a CostSim alert waits: ALERTMANAGER_URL is empty", { alertId: alert.id });
    const retryAt = new Date(clock().nowMs() + config().costsim.alerts.backoffMaxS * 1000);
    await query(sql.failSend, [alert.id, claimId, retryAt, "ALERTMANAGER_URL is empty"]);
    return done();
  }
  const todo = urls.filter((u) => !alert.delivered_to.includes(u));
  const results = await Promise.all(todo.map((u) => post(u, alert)));
  const accepted = todo.filter((_, n) => results[n] === null);
  const failures = results.filter((r): r is NonNullable<typeof r> => r !== null);
  for (const f of failures) m.alertSendFailures.inc({ kind: f.kind });
  const now = clock().now();
  const delayS = failures.length ? backoffS(alert.attempts) : null;
  const error = failures.length
    ? failures
        .map((f) => f.error)
        .join("; ")
        .slice(0, 1000)
    : null;
  const next = delayS === null ? null : new Date(now.getTime() + delayS * 1000);
  const finish = [alert.id, claimId, alert.version, accepted, urls, now, next, error];
  const { rows: after } = await query<AlertRow>(sql.finishSend, finish);
  const row = after[0];
  if (!row) return done(); // the claim lapsed and another sender took over: it carries on
  if (row.sent_version === alert.version && row.version === alert.version) {
    m.alertsDelivered.inc({ state: alert.state });
    m.alertDeliverySeconds.observe({}, Math.max(0, (now.getTime() - alert.changed_at.getTime()) / 1000));
  }
  if (delayS !== null) {
    log.warn("CostSim alert not accepted by every Alertmanager; retried after a backoff", {
      alertId: alert.id,
      attempt: alert.attempts + 1,
      delayS,
      error,
    });
    await enqueueNow(alertOutbox, [row], { delayS });
  } else if (row.sent_version < row.version) {
    // The alert changed while it was being sent (re-asserted, resolved): send the new version now.
    await enqueueNow(alertOutbox, [row]);
  }
  await measureDepth();
  return done();
}

/** Send every waiting alert's message now (the local runtime's in-memory queue lost them at a restart). */
export function redriveAlerts(): Promise<SweepOutboxResult> {
  return redriveOutbox(alertOutbox);
}

/** The CostsimSafety cron's part: re-assert firing alerts, re-drive lost messages, set the depth. */
export async function sweepAlerts(): Promise<{ reasserted: number; resent: number; depth: number }> {
  const reasserted = await reassertAlerts();
  const { resent } = await sweepOutbox(alertOutbox);
  const depth = await measureDepth();
  return { reasserted, resent, depth };
}
