/** Agents (core/agents): instances, messages with delivery guarantees, invokes with their audit trail; their sweeper. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const agents: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("agents", [
    ["POST /api/v1/agents", "register", "agent", "Register an agent instance of the key's tenant (name, capabilities, job)"],
    ["GET /api/v1/agents", "list", "viewer", "The tenant's agent instances, newest first, stale ones marked (keyset pagination)"],
    ["GET /api/v1/agents/{id}", "get", "viewer", "An agent instance; stale when not seen for AGENT_STALE_S"],
    ["DELETE /api/v1/agents/{id}", "deregister", "agent", "Deregister an instance (soft): listed as deregistered, its unacked messages dead letters, 410 for it from now on"],
    ["POST /api/v1/agents/{id}/heartbeat", "heartbeat", "agent", "The instance is alive (seen now)"],
    ["GET /api/v1/agents/{id}/messages", "receive", "agent", "Long-poll an instance's inbox (wait_s <= 20, after_seq): what it returns is leased until acked or MESSAGE_LEASE_S", { timeoutS: 25 }],
    ["POST /api/v1/agents/{id}/invoke", "invoke", "agent", "Invoke an instance and wait for its answer (timeout_s <= 30): 200 answered or canceled, 504 at the deadline (a later answer is recorded as late)", { timeoutS: 35, links: ["FailureRecordsQueue"] }],
    ["POST /api/v1/messages", "messages/send", "agent", "Send a message to an instance (idempotent by the sender's message_id); the receiver is woken"],
    ["POST /api/v1/messages/{id}/ack", "messages/ack", "agent", "Ack a received message: it is not delivered again"],
    ["GET /api/v1/messages/dead", "messages/dead", "viewer", "Dead letters: messages delivered MESSAGE_MAX_DELIVERIES times without an ack (keyset pagination)"],
    ["POST /api/v1/messages/{id}/replay", "messages/replay", "agent", "Replay a dead letter: back in its recipient's inbox under a new seq"],
    ["POST /api/v1/invokes/{invoke_id}/respond", "invokes/respond", "agent", "The target's answer to an invoke (output or error); after the deadline it is recorded as late, after a cancel kept on the canceled invoke", { links: ["FailureRecordsQueue"] }],
    ["POST /api/v1/invokes/{invoke_id}/cancel", "invokes/cancel", "agent", "The caller cancels its invoke (A2A canceled): credits released, the waiting invoke answers 200 with status canceled"],
    ["GET /api/v1/invokes", "invokes/list", "viewer", "The tenant's invokes, newest first, by job and by caller (keyset pagination)"],
    ["GET /api/v1/invokes/{invoke_id}", "invokes/get", "viewer", "What happened to an invoke: its audit row, its messages and timings"],
    ["PUT /api/v1/blackboard/{ns}/{key}", "blackboard/put", "agent", "Write a blackboard entry (JSON value, if_version compare-and-set -> 409, ttl_s)"],
    ["GET /api/v1/blackboard/{ns}/{key}", "blackboard/get", "viewer", "A blackboard entry with its version"],
    ["DELETE /api/v1/blackboard/{ns}/{key}", "blackboard/delete", "agent", "Delete a blackboard entry (if_version compare-and-set -> 409)"],
    ["POST /api/v1/blackboard/{ns}/{key}/incr", "blackboard/incr", "agent", "Add to a numeric blackboard entry atomically (absent: from 0)"],
    ["GET /api/v1/blackboard/{ns}", "blackboard/list", "viewer", "A blackboard namespace's entries in key order (cursor: the last key)"],
    ["GET /api/v1/blackboard-aggregates/{ns}", "blackboard/aggregate", "viewer", "count, sum, min, max, avg and top N of a numeric field over a namespace, kept incrementally"],
  ]),
  schedules: [
    {
      // Messages delivered too often dead-lettered, expired ones deleted, invokes of dead callers timed
      // out (recorded as failures), finished jobs' blackboard namespaces given their short expiry.
      name: "AgentSweep",
      schedule: "rate(1 minute)",
      handler: "functions/cron/agent-sweep.handler",
      timeoutS: 60,
      links: ["FailureRecordsQueue"],
    },
  ],
};
