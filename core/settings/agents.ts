/** Settings of agents (core/agents): instances, messages, invokes and the blackboard. */
import { declareSettings, int } from "./declare.ts";

// biome-ignore format: one line per setting
export const agents = declareSettings("agents", {
  agents: {
    staleS: int("AGENT_STALE_S", 60, "seconds after its last heartbeat (or receive) an agent instance is shown as stale", { min: 1 }),
    messageMaxDeliveries: int("MESSAGE_MAX_DELIVERIES", 5, "deliveries of a message without an ack before it moves to the dead letters", { min: 1 }),
    messageLeaseS: int("MESSAGE_LEASE_S", 30, "seconds a received message stays leased to its receiver; unacked, it is delivered again after it", { min: 1 }),
    messageTtlS: int("MESSAGE_TTL_S", 86_400, "default lifetime of a message (`ttl_s` overrides it); the sweep deletes expired messages", { min: 1 }),
    blackboardMaxValueBytes: int("BLACKBOARD_MAX_VALUE_BYTES", 65_536, "largest blackboard value (its JSON text); larger puts are a 400", { min: 1 }),
    blackboardNamespaceTtlS: int("BLACKBOARD_NAMESPACE_TTL_S", 604_800, "a blackboard namespace not written for this long expires whole", { min: 60 }),
    blackboardJobNamespaceTtlS: int("BLACKBOARD_JOB_NAMESPACE_TTL_S", 3600, "a finished (completed, failed or cancelled) job's blackboard namespace `job:<id>` expires this long after the AgentSweep sees it settled", { min: 1 }),
  },
});
