/**
 * Messages between agents, at least once: Postgres is the record. A send takes the recipient's
 * next seq and signals its waiters after commit; a receive leases what it returns for
 * MESSAGE_LEASE_S (long-polling up to 20 s when asked); an unacked message is delivered again
 * after its lease, and after MESSAGE_MAX_DELIVERIES deliveries it becomes a dead letter, listed
 * and replayable. Receivers de-duplicate by `id` / `seq` and resume with `after_seq`.
 */

import { randomUUID } from "node:crypto";
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import * as agentsSql from "./agents.sql.ts";
import { MessageNotDeadError, MessageNotFoundError } from "./errors.ts";
import { assertInstance } from "./instances.ts";
import * as invokesSql from "./invokes.sql.ts";
import * as sql from "./messages.sql.ts";
import { agentMetrics } from "./metrics.ts";
import type { DeadQuery, MessageBatch, MessageRecord, MessageSend, MessageSent, ReceiveQuery } from "./schema.ts";
import { inboxKey, signal, waitFor } from "./wake.ts";

/** What `deliver` stores besides a send's body: an invoke's request names its invoke. */
export interface DeliverExtra {
  invokeId?: string;
  expiresAt?: Date;
  /** The send's instant (an invoke's start); clock().now() otherwise. */
  now?: Date;
  /** An invoke without credits: its audit row is stored by the same statement (insertInvokeRequest). */
  audit?: { jobId: string | null; request: string; timeoutS: number };
}

/**
 * Inside or outside a transaction: store a message from `sender` (an instance id or `key:<id>`)
 * and wake its recipient after commit. A `message_id` the sender used already stores nothing and
 * answers the first message (`duplicate: true`).
 */
export async function deliver(sender: string, body: MessageSend, extra: DeliverExtra = {}): Promise<MessageSent> {
  const tenantId = useTenant();
  if (body.message_id !== undefined) {
    const before = await query<MessageRecord>(sql.sentBefore, [tenantId, sender, body.message_id]);
    if (before.rows[0]) return duplicate(before.rows[0]);
  }
  const { messageTtlS, messageLeaseS } = config().agents;
  const now = extra.now ?? clock().now();
  const expiresAt = extra.expiresAt ?? new Date(now.getTime() + (body.ttl_s ?? messageTtlS) * 1000);
  const payload = JSON.stringify(body.payload ?? null);
  const params = [
    body.to,
    tenantId,
    sender,
    body.message_id ?? null,
    body.type,
    payload,
    body.reply_to ?? null,
    extra.invokeId ?? null,
    expiresAt,
    now,
    payload.length <= HANDOFF_MAX_CHARS,
    messageLeaseS,
  ];
  const { audit } = extra;
  const { rows } = await query<MessageRecord & { leased_to: string | null }>(
    audit ? sql.insertInvokeRequest : sql.insertMessage,
    audit ? [...params, audit.jobId, audit.request, audit.timeoutS] : params,
  );
  const stored = rows[0];
  if (!stored) {
    // Either the recipient is not the tenant's, or the same message_id won a race just now.
    await assertInstance(body.to);
    const again = await query<MessageRecord>(sql.sentBefore, [tenantId, sender, body.message_id]);
    if (again.rows[0]) return duplicate(again.rows[0]);
    throw new MessageNotFoundError(body.message_id ?? "");
  }
  const { leased_to: handedTo, ...message } = stored;
  afterCommit(async () => {
    agentMetrics.messages.inc({ event: "sent" });
    await signal(inboxKey(body.to), handedTo ? { for: handedTo, value: JSON.stringify(message) } : undefined);
  });
  return { ...message, duplicate: false };
}

/** A payload up to this long (JSON) may ride in the wake-up to a waiting receiver; a longer one is read from Postgres. */
const HANDOFF_MAX_CHARS = 64 * 1024;

function duplicate(row: MessageRecord): MessageSent {
  agentMetrics.messages.inc({ event: "duplicate" });
  return { ...row, duplicate: true };
}

/**
 * `POST /api/v1/messages`. The insert is one statement (the recipient's counter and the row
 * together), so it needs no transaction of its own: the wake-up goes once it returned.
 */
export function send(sender: string, body: MessageSend): Promise<MessageSent> {
  return deliver(sender, body);
}

type Leased = MessageRecord & { age_s: number; dead_count: number };

/**
 * Lease what is due now (dead-lettering what was delivered too often first), in one statement,
 * taking what a send handed to `waiter`; with nothing found before `until`, `waiter` is named the
 * inbox's waiter (a send hands it its message).
 */
async function leaseNow(
  agentId: string,
  tenantId: string,
  q: ReceiveQuery,
  waiter: string | null,
  until: number,
): Promise<MessageRecord[] | undefined> {
  const { messageMaxDeliveries: max, messageLeaseS: lease } = config().agents;
  const now = clock().now();
  const { rows: all } = await query<Leased>(sql.leaseMessages, [
    agentId,
    tenantId,
    q.after_seq,
    now,
    q.limit,
    lease,
    max,
    waiter,
    until > now.getTime() ? new Date(until) : null,
  ]);
  const dead = all[0]?.dead_count ?? 0;
  if (dead) agentMetrics.messages.inc({ event: "dead" }, dead);
  const rows = all.filter((m) => m.id !== null);
  if (rows.length === 0) return undefined;
  const invokes = rows.flatMap((m) => (m.invoke_id ? [m.invoke_id] : []));
  if (invokes.length) await query(invokesSql.markWorking, [invokes, tenantId, now]);
  rows.sort((a, b) => a.seq - b.seq);
  for (const m of rows) counted(m, m.age_s);
  return rows.map(({ age_s: _age, dead_count: _dead, ...m }) => m);
}

function counted(m: MessageRecord, ageS: number): void {
  if (m.deliveries === 1) {
    agentMetrics.messages.inc({ event: "delivered" });
    agentMetrics.deliverySeconds.observe({}, Math.max(0, ageS));
  } else agentMetrics.messages.inc({ event: "redelivered" });
}

/** A message a send handed to this receive (leased to it already), as its wake-up carried it. */
function handed(value: string): MessageRecord[] {
  const m = JSON.parse(value) as MessageRecord;
  counted(m, (clock().nowMs() - Date.parse(m.created_at)) / 1000);
  return [m];
}

/**
 * `GET /api/v1/agents/{id}/messages`: the instance's due messages after `after_seq`, leased;
 * with `wait_s`, waits up to that long for one. The instance is seen (stale no more).
 */
export async function receive(agentId: string, q: ReceiveQuery): Promise<MessageBatch> {
  const tenantId = useTenant();
  const { rows: seen } = await query(agentsSql.touchAgent, [agentId, tenantId, clock().now(), config().agents.staleS]);
  if (!seen[0]) await assertInstance(agentId);
  const deadline = clock().nowMs() + q.wait_s * 1000;
  // A long-poll that finds nothing waits as the inbox's waiter, so a send hands it its message.
  const waiter = q.wait_s > 0 ? randomUUID() : null;
  const data =
    (await waitFor(
      inboxKey(agentId),
      deadline,
      () => leaseNow(agentId, tenantId, q, waiter, deadline),
      waiter ? { token: waiter, take: handed } : undefined,
    )) ?? [];
  return { data, last_seq: data.reduce((max, m) => Math.max(max, m.seq), q.after_seq) };
}

/** `POST /api/v1/messages/{id}/ack`: done with it; acking again answers the same row. */
export async function ack(id: string): Promise<MessageRecord> {
  const { rows } = await query<MessageRecord>(sql.ackMessage, [id, useTenant(), clock().now()]);
  if (!rows[0]) throw new MessageNotFoundError(id);
  agentMetrics.messages.inc({ event: "acked" });
  return rows[0];
}

/** The tenant's dead letters, newest first (optionally of one recipient). */
export async function dead(q: DeadQuery): Promise<Page<MessageRecord>> {
  const [at, id] = decodeCursor(q.cursor, [cursorPart.wireTime, cursorPart.uuid]) ?? [null, null];
  const { rows } = await query<MessageRecord>(sql.listDead, [useTenant(), q.to ?? null, at, id, q.limit + 1]);
  return toPage(rows, q.limit, (r) => [r.dead_at as string, r.id]);
}

/**
 * A dead letter back in its recipient's inbox under a new seq, deliveries from 0; 409 when it is
 * not dead, 410 when its recipient was deregistered.
 */
export async function replay(id: string): Promise<MessageRecord> {
  const tenantId = useTenant();
  const ttlS = config().agents.messageTtlS;
  return withTx(async () => {
    const { rows } = await query<MessageRecord>(sql.replayMessage, [
      id,
      tenantId,
      new Date(clock().nowMs() + ttlS * 1000),
    ]);
    const row = rows[0];
    if (!row) {
      const found = await query<MessageRecord>(sql.getMessage, [id, tenantId]);
      const message = found.rows[0];
      if (!message) throw new MessageNotFoundError(id);
      // A dead letter of a deregistered instance has no inbox to go back to: 410.
      if (message.dead_at !== null && message.acked_at === null) await assertInstance(message.to);
      throw new MessageNotDeadError(id);
    }
    afterCommit(async () => {
      agentMetrics.messages.inc({ event: "replayed" });
      await signal(inboxKey(row.to));
    });
    return row;
  });
}

const SWEEP_BATCH = 1000;

/** The cron's work, across tenants: leases past the limit dead-lettered, expired messages deleted. */
export async function sweepMessages(): Promise<{ dead: number; expired: number }> {
  const now = clock().now();
  let dead = 0;
  let expired = 0;
  for (;;) {
    const r = await query(sql.sweepDead, [now, config().agents.messageMaxDeliveries, SWEEP_BATCH]);
    dead += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < SWEEP_BATCH) break;
  }
  for (;;) {
    const r = await query(sql.sweepExpired, [now, SWEEP_BATCH]);
    expired += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < SWEEP_BATCH) break;
  }
  if (dead) agentMetrics.messages.inc({ event: "dead" }, dead);
  if (expired) agentMetrics.messages.inc({ event: "expired" }, expired);
  const { rows } = await query<{ n: number }>(sql.countDead);
  agentMetrics.deadLetters.set({}, rows[0]?.n ?? 0);
  return { dead, expired };
}
