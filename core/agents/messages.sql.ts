/**
 * The SQL of messages: send (the recipient's next seq, race-free), lease on receive, ack, dead
 * letters and replay, and the sweep. Instants are parameters decided by `clock()`.
 */
import { isoUtc } from "../platform/db/index.ts";
import { sqlLiterals } from "../platform/db/literal.ts";
import { statement } from "../platform/db/statement.ts";
import { InvokeStates } from "./states.ts";

const I = sqlLiterals(InvokeStates);

/** A message row in wire shape, alias `m`. */
const columns = `m.id, m.seq, m.recipient_id as "to", m.sender as "from", m.message_id, m.type, m.payload, m.reply_to,
  m.invoke_id, m.deliveries, ${isoUtc("m.leased_until")} as leased_until, ${isoUtc("m.expires_at")} as expires_at,
  ${isoUtc("m.acked_at")} as acked_at, ${isoUtc("m.dead_at")} as dead_at, ${isoUtc("m.created_at")} as created_at`;

/** $1 tenant, $2 sender, $3 message_id: the message a sender already sent under that key. */
export const sentBefore = /* @__PURE__ */ statement(
  () => `select ${columns} from agent_messages m where m.tenant_id = $1 and m.sender = $2 and m.message_id = $3`,
);

/**
 * Whether a send hands its message to the inbox's waiter (a receive long-polling now), judged on
 * the inbox row as the send found it ($10 now, $11 hand-off allowed): a waiter whose wait ends
 * at least a second later (a margin for the clocks of two machines).
 */
const hands = `$11 and i.waiter is not null and i.waiter_until > CAST($10 AS timestamptz) + interval '1 second'`;

/**
 * $1 recipient, $2 tenant, $3 sender, $4 message_id, $5 type, $6 payload, $7 reply_to, $8 invoke_id,
 * $9 expires_at, $10 now, $11 hand-off allowed, $12 lease s. The recipient's counter row stays
 * locked until commit, so its messages commit in seq order. When a receive waits on the inbox
 * (migration 0023) the message is stored leased to it for $12 s (`leased_to`, its first
 * delivery), the waiter is cleared (one message per wait), and an invoke's request marks the
 * invoke working. No row: the recipient is not the tenant's, or the sender's message_id won a race.
 */
export const insertMessage = /* @__PURE__ */ statement(() => insertWith(false));

/**
 * An invoke's request without credits, and its audit row, in one statement (no transaction to
 * open): insertMessage's parameters, then $13 job, $14 request, $15 timeout s; $8 is the invoke
 * id, $3 its caller, $1 its target, $10 its start and $9 its deadline. The audit row is
 * `working` from the start when the request is handed to a waiting receive, else `submitted`.
 * No row (and no audit row): the target is not the tenant's.
 */
export const insertInvokeRequest = /* @__PURE__ */ statement(() => insertWith(true));

function insertWith(invoke: boolean): string {
  const audit = `inv as (
      insert into invoke_audit (tenant_id, invoke_id, caller_instance_id, target_instance_id, job_id, request_payload,
        status, timeout_s, started_at, deadline_at, received_at)
      select $2, $8, $3, $1, $13, CAST($14 AS jsonb),
        case when s.handed_to is null then ${I.submitted} else ${I.working} end, $15, $10, $9,
        case when s.handed_to is not null then CAST($10 AS timestamptz) end
      from s),`;
  // An invoke stored beforehand (with its credits' hold, in the caller's transaction) turns working here.
  const working = `,
    w as (
      update invoke_audit a set status = ${I.working}, received_at = $10 from ins
      where ins.leased_to is not null and a.tenant_id = $2 and a.invoke_id = ins.invoke_id and a.status = ${I.submitted})`;
  return `with s as (
      update agent_inboxes i set last_seq = i.last_seq + 1,
        handed_to = case when ${hands} then i.waiter end,
        waiter = case when ${hands} then null else i.waiter end
      where i.agent_id = $1 and i.tenant_id = $2 returning i.last_seq, i.handed_to),
    ${invoke ? audit : ""}
    ins as (
      insert into agent_messages as m (tenant_id, recipient_id, seq, sender, message_id, type, payload, reply_to,
        invoke_id, expires_at, deliveries, leased_until, leased_to)
      select $2, $1, s.last_seq, $3, $4, $5, CAST($6 AS jsonb), $7, $8, $9, case when s.handed_to is null then 0 else 1 end,
        case when s.handed_to is not null then CAST($10 AS timestamptz) + make_interval(secs => $12) end, s.handed_to
      from s
      on conflict (tenant_id, sender, message_id) where message_id is not null do nothing
      returning *)${invoke ? "" : working}
    select ${columns}, m.leased_to from ins m`;
}

/**
 * One statement (no transaction to open): unacked messages of recipient $1 (tenant $2) delivered
 * $7 (max deliveries) times whose lease ended become dead letters, then up to $5 live messages
 * after seq $3 are leased at $4 (now) for $6 s, skipping rows another receiver is leasing this
 * instant; rows a send handed to waiter $8 are taken too (their delivery was counted). With
 * nothing leased and $9 (the end of a wait) given, the receive names itself the inbox's waiter
 * $8 until $9; with something leased, it stops being the waiter. Always one row per leased
 * message plus, when none is leased, one row of nulls; each row carries `dead_count`.
 */
export const leaseMessages = /* @__PURE__ */ statement(
  () => `with dead as (
      update agent_messages set dead_at = $4, leased_until = null
      where recipient_id = $1 and tenant_id = $2 and acked_at is null and dead_at is null
        and deliveries >= $7 and leased_until <= $4
      returning 1),
    c as (
      select id from agent_messages
      where recipient_id = $1 and tenant_id = $2 and seq > $3 and acked_at is null and dead_at is null
        and expires_at > $4 and (leased_until is null or leased_until <= $4 or leased_to = $8) and deliveries < $7
      order by seq limit $5 for update skip locked),
    leased as (
      update agent_messages m set leased_until = CAST($4 AS timestamptz) + make_interval(secs => $6), leased_to = null,
        deliveries = m.deliveries + case when m.leased_to = $8 then 0 else 1 end
      from c where m.id = c.id
      returning ${columns}, CAST(extract(epoch from CAST($4 AS timestamptz) - m.created_at) AS float8) as age_s),
    n as (select count(*) as leased from leased),
    waiter as (
      update agent_inboxes i set waiter = case when n.leased = 0 then CAST($8 AS text) end,
        waiter_until = case when n.leased = 0 then CAST($9 AS timestamptz) end
      from n where i.agent_id = $1 and i.tenant_id = $2 and CAST($8 AS text) is not null
        and ((n.leased = 0 and CAST($9 AS timestamptz) is not null and $3 <= i.last_seq) or i.waiter = $8))
    select leased.*, d.dead_count from (select count(*) as dead_count from dead) d left join leased on true`,
);

/** $1 id, $2 tenant, $3 now. Acked (again: the row as it is). */
export const ackMessage = /* @__PURE__ */ statement(
  () => `update agent_messages m set acked_at = coalesce(m.acked_at, CAST($3 AS timestamptz)), leased_until = null
    where m.id = $1 and m.tenant_id = $2 returning ${columns}`,
);

/** $1 tenant, $2 recipient or null, $3/$4 cursor (dead_at, id) or null, $5 limit. Newest first. */
export const listDead = /* @__PURE__ */ statement(
  () => `select ${columns} from agent_messages m
    where m.tenant_id = $1 and m.dead_at is not null and m.acked_at is null
      and (CAST($2 AS uuid) is null or m.recipient_id = $2)
      and (CAST($3 AS timestamptz) is null or (m.dead_at, m.id) < (CAST($3 AS timestamptz), CAST($4 AS uuid)))
    order by m.dead_at desc, m.id desc limit $5`,
);

/**
 * $1 id, $2 tenant, $3 earliest expiry. A dead letter back in its recipient's inbox under a new
 * seq (so a receiver resuming from its cursor sees it), its deliveries counted from 0.
 */
export const replayMessage = /* @__PURE__ */ statement(
  () => `with s as (
      update agent_inboxes i set last_seq = i.last_seq + 1 from agent_messages d
      where d.id = $1 and d.tenant_id = $2 and d.dead_at is not null and d.acked_at is null and i.agent_id = d.recipient_id
      returning i.last_seq)
    update agent_messages m set seq = s.last_seq, dead_at = null, deliveries = 0, leased_until = null,
      expires_at = greatest(m.expires_at, CAST($3 AS timestamptz))
    from s where m.id = $1 and m.tenant_id = $2 and m.dead_at is not null
    returning ${columns}`,
);

/** $1 id, $2 tenant. */
export const getMessage = /* @__PURE__ */ statement(
  () => `select ${columns} from agent_messages m where m.id = $1 and m.tenant_id = $2`,
);

/** $1 tenant, $2 invoke id: the invoke's messages in order. */
export const invokeMessages = /* @__PURE__ */ statement(
  () =>
    `select ${columns} from agent_messages m where m.tenant_id = $1 and m.invoke_id = $2 order by m.created_at, m.seq`,
);

/** Sweep, across tenants: $1 now, $2 max deliveries, $3 batch. Leases ended past the limit: dead letters. */
export const sweepDead = `update agent_messages set dead_at = $1, leased_until = null where id in (
    select id from agent_messages where acked_at is null and dead_at is null and leased_until is not null
      and leased_until <= $1 and deliveries >= $2 limit $3)`;

/** Sweep, across tenants: $1 now, $2 batch. Expired messages deleted. */
export const sweepExpired = `delete from agent_messages where id in (
    select id from agent_messages where expires_at <= $1 limit $2)`;

/** Dead letters of every tenant (the sweep's gauge). */
export const countDead = "select count(*) as n from agent_messages where dead_at is not null and acked_at is null";
