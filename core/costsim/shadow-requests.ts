/**
 * How a V1 simulate hands its plan to V2 without making its caller wait for SQS. A Lambda's
 * handler kit finishes background work before it returns, so an SQS send started beside the
 * reply is still in the caller's latency (measured: +2.6 to +4.2 ms p99 against fauxqs, more
 * against SQS). Instead the simulate writes one row, `costsim_shadow_requests`, started as soon
 * as V1's options are known so that it overlaps V1's own work; the `CostsimShadowRelay` cron
 * (every minute) sends the rows' messages through the platform outbox (`enqueued_at`, re-sent when
 * one looks lost), and the CostsimShadow worker runs the comparison and deletes the row. A
 * comparison therefore lands up to a minute after its simulate: the shadow is for the divergence
 * report and the drift alerts, not for the caller. A request that cannot be written is logged and
 * lost (the AosCostsimShadowBehind alert sees the gap); the caller's reply never depends on it.
 */
import { safeParse } from "zod/mini";
import { useTenant } from "../context.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { defineOutbox, type SweepOutboxResult, sweepOutbox } from "../platform/outbox/index.ts";
import { done, type QueueOutcome } from "../platform/queue-outcome.ts";
import { type HistoryReader, ShadowMessage, type ShadowRequestMessage } from "./api-schema.ts";
import * as sql from "./shadow-requests.sql.ts";
import { runShadow } from "./shadow-run.ts";

/** The queue of shadow comparisons (functions/routes/costsim.ts). */
export const SHADOW_QUEUE = "CostsimShadow";

/** The requests' outbox: only the relay cron sends (no send on the request path), at once (no grace). */
export const shadowOutbox = /* @__PURE__ */ defineOutbox<{ id: string; tenant_id: string }>({
  name: "costsim_shadow",
  queue: SHADOW_QUEUE,
  table: "costsim_shadow_requests",
  columns: "t.id, t.tenant_id",
  waiting: "true",
  createdAt: "t.created_at",
  // The worker deletes a row within its visibility timeout (60 s) times its receives (5).
  resendAfterS: 600,
  unsentGraceS: 0,
  message: (r): ShadowRequestMessage => ({ v: 1, tenantId: r.tenant_id, requestId: r.id }),
});

/** Write the request for the context's tenant; never throws (logged: the comparison is lost, not the reply). */
export async function storeRequest(msg: ShadowMessage): Promise<void> {
  try {
    await query(sql.insertRequest, [useTenant(), JSON.stringify(msg)]);
  } catch (e) {
    log.warn("costsim shadow request not written; its comparison is lost", { err: e, planRef: msg.planRef });
  }
}

/** The relay cron's work: send the messages of the requests written since its last run. */
export function relayRequests(): Promise<SweepOutboxResult> {
  return sweepOutbox(shadowOutbox);
}

/**
 * The CostsimShadow worker's work for one message, in the message's tenant: its request compared
 * and recorded (runShadow), then deleted. A request already deleted was done with (a duplicate).
 */
export async function runRequest(m: ShadowRequestMessage, readHistory: HistoryReader): Promise<QueueOutcome> {
  const { rows } = await query<{ request: unknown }>(sql.getRequest, [m.tenantId, m.requestId]);
  if (!rows[0]) return done();
  const parsed = safeParse(ShadowMessage, rows[0].request);
  if (!parsed.success || parsed.data.tenantId !== m.tenantId) {
    // Written by an older or broken writer: it can never be compared; drop it, say so.
    log.error("costsim shadow request unreadable; deleted", { requestId: m.requestId, tenantId: m.tenantId });
    await query(sql.deleteRequest, [m.tenantId, m.requestId]);
    return done();
  }
  const outcome = await runShadow(parsed.data, readHistory);
  if (outcome.outcome === "done") await query(sql.deleteRequest, [m.tenantId, m.requestId]);
  return outcome;
}
