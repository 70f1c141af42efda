/**
 * How a V1 simulate hands its plan to V2 without making its caller wait for SQS or for a durable
 * write. A Lambda's handler kit finishes background work before it returns, so whatever the shadow
 * starts beside the reply is in the caller's latency: an SQS send measured +2.0 to +4.2 ms at p99
 * against fauxqs (more against SQS), a Postgres row +2.4 to +2.9 ms. Instead the simulate appends
 * the request (the plan and the caller's budget) to a capped Redis stream, `costsim:shadow`
 * (one `XADD MAXLEN ~` command, no fsync), written while V1 reads the tenant's credits so that
 * its round trip hides behind that read (the consumer reads the credits when it runs); the `CostsimShadowRelay` cron (every minute) sends
 * the oldest entries to the CostsimShadow queue and deletes those SQS accepted, and the worker
 * compares and records them (shadow-run.ts, idempotent by input and simulation time).
 *
 * What this trades, deliberately, for a shadow that is only a sample for the divergence report
 * and the drift alerts: a comparison lands up to a minute after its simulate; a request is lost
 * when Redis cannot take it (logged, counted as `aos_costsim_shadow_requests_total{outcome=
 * "failed"}`), when Redis loses its data, or when more than SHADOW_STREAM_MAX requests wait (the
 * oldest go: the stream is capped so that a stopped relay cannot fill Redis); a relay that dies
 * between its send and its delete sends those again (a duplicate the worker ignores). The
 * caller's reply never depends on any of it.
 */
import { log } from "../platform/logger.ts";
import { sendMessages } from "../platform/queue.ts";
import { redis } from "../platform/redis.ts";
import type { ShadowMessage } from "./api-schema.ts";
import { costsimMetrics as m } from "./metrics.ts";

/** The queue of shadow comparisons (functions/routes/costsim.ts). */
export const SHADOW_QUEUE = "CostsimShadow";
/** The Redis stream of shadow requests waiting for the relay. */
export const SHADOW_STREAM = "costsim:shadow";
/** At most this many requests wait; beyond it the oldest are dropped. */
export const SHADOW_STREAM_MAX = 100_000;
/** Entries per relay batch (SQS sends them ten to a call), and batches per run. */
const RELAY_BATCH = 200;
const RELAY_MAX_BATCHES = 25;

/** Append the request (its tenant named in it); never throws (logged and counted: the comparison is lost, not the reply). */
export async function storeRequest(msg: ShadowMessage): Promise<void> {
  try {
    await redis().xadd(SHADOW_STREAM, SHADOW_STREAM_MAX, { m: JSON.stringify(msg) });
    m.shadowRequests.inc({ outcome: "stored" });
  } catch (e) {
    m.shadowRequests.inc({ outcome: "failed" });
    log.warn("costsim shadow request not stored; its comparison is lost", { err: e, planRef: msg.planRef });
  }
}

export interface RelayResult {
  /** Requests whose message SQS accepted (deleted from the stream). */
  relayed: number;
  /** Requests SQS refused (left for the next run). */
  failed: number;
  /** Requests still waiting after the run. */
  waiting: number;
}

/** The relay cron's work: the waiting requests' messages sent, oldest first; those SQS accepted deleted. */
export async function relayRequests(): Promise<RelayResult> {
  const client = redis();
  const result: RelayResult = { relayed: 0, failed: 0, waiting: 0 };
  for (let i = 0; i < RELAY_MAX_BATCHES; i++) {
    const entries = await client.xrange(SHADOW_STREAM, RELAY_BATCH);
    if (entries.length === 0) break;
    const bodies = entries.map((e) => JSON.parse(e.fields.m ?? "null") as unknown);
    const sent = await sendMessages(SHADOW_QUEUE, bodies);
    const refused = new Set(sent.failed.map((f) => f.index));
    await client.xdel(
      SHADOW_STREAM,
      entries.filter((_, j) => !refused.has(j)).map((e) => e.id),
    );
    result.relayed += entries.length - refused.size;
    result.failed += refused.size;
    if (refused.size > 0 || entries.length < RELAY_BATCH) break;
  }
  result.waiting = await client.xlen(SHADOW_STREAM);
  m.shadowRequests.inc({ outcome: "relayed" }, result.relayed);
  m.shadowWaiting.set({}, result.waiting);
  if (result.failed) log.warn("costsim shadow requests not relayed; the next run sends them", { ...result });
  return result;
}
