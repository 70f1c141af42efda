/**
 * Agents: registered instances of a tenant, messages between them with delivery guarantees (at
 * least once, per-recipient seq, leases, dead letters, replay), invokes with a deadline and an
 * audit trail (`invoke_audit`), and the wake-up of waiting receivers (wake.ts).
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as Agents from ".../core/agents/index.ts"`, then `Agents.send(...)`).
 */

import {
  aggregate as boardAggregate,
  remove as boardDelete,
  get as boardGet,
  incr as boardIncr,
  list as boardList,
  put as boardPut,
} from "./blackboard.ts";
import { cancelInvoke } from "./cancel.ts";
import { actingAs, deregister, get, heartbeat, list, register } from "./instances.ts";
import { invoke } from "./invoke.ts";
import { list as listInvokes, trace } from "./invoke-query.ts";
import { ack, dead, receive, replay, send } from "./messages.ts";
import { respond } from "./respond.ts";
import { sweep } from "./sweep.ts";

export * from "./errors.ts";
export { AGENT_HEADER } from "./instances.ts";
export { INVOKE_REQUEST } from "./invoke.ts";
export * from "./schema.ts";
export { type InvokeState, InvokeStates } from "./states.ts";
export { closeWaitConnections } from "./wake.ts";
export {
  /** Ack a message (done with it); acking again answers the same row. */
  ack,
  /** Who the request acts as: the instance of X-AOS-Agent-Id (checked against the tenant) or `key:<id>`. */
  actingAs,
  /** Blackboard: count, sum, min, max, avg and top N of a numeric field of a namespace (kept incrementally). */
  boardAggregate,
  /** Blackboard: delete an entry (compare-and-set with if_version). */
  boardDelete,
  /** Blackboard: one entry (404 when absent or expired). */
  boardGet,
  /** Blackboard: add to a numeric entry atomically. */
  boardIncr,
  /** Blackboard: a namespace's entries in key order, by cursor. */
  boardList,
  /** Blackboard: write an entry (compare-and-set with if_version, TTL). */
  boardPut,
  /** The caller gives up on its invoke: canceled, credits released, the waiting caller answered. */
  cancelInvoke,
  /** The tenant's dead letters, newest first. */
  dead,
  /** Deregister an instance (soft): its inbox closed, its unacked messages dead letters, 410 afterwards. */
  deregister,
  /** One instance of the caller's tenant (404 for another tenant's). */
  get,
  /** The instance was seen now. */
  heartbeat,
  /** Invoke a target instance and wait for its answer or the deadline (504, the invoke stays answerable). */
  invoke,
  /** The tenant's instances, newest first. */
  list,
  /** The tenant's invokes, newest first, by job and caller. */
  listInvokes,
  /** Long-poll an instance's inbox; what it returns is leased. */
  receive,
  /** Register an instance of the caller's tenant. */
  register,
  /** A dead letter back in its recipient's inbox (new seq, deliveries from 0). */
  replay,
  /** The target's answer to an invoke (late after the deadline). */
  respond,
  /** Send a message (idempotent by the sender's message_id). */
  send,
  /** The cron's work: dead letters, expired messages, invokes whose caller died, finished jobs' namespaces. */
  sweep,
  /** "What happened to invoke X?": audit row, messages, timings. */
  trace,
};
