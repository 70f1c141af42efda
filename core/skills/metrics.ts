/**
 * The `m11_*` metrics of the M11 seed (PIN-060) that skills record, declared once with their seed
 * names. The execution path (execute.ts), the breaker (breaker.ts) and the idempotency store
 * record them, so a skill gets them without code of its own. The seed's `m11_audit_ops_total` and
 * replay metrics (`m11_replay_*`) are the workflows domain's (core/workflows/metrics.ts): the
 * operations audit log and the replay verifier record them.
 * `aos_skill_breaker_store_errors_total` is ours: a breaker whose own store fails lets calls
 * through (fails open), and that must be visible; it is labelled by operation, not by target
 * (targets include tenants' webhook hosts, which grow with users' data).
 */
import { counter, gauge, histogram } from "../platform/metrics/index.ts";

const statuses = ["succeeded", "failed", "rejected", "replayed"] as const;

export const skillMetrics = {
  executions: counter("m11_skill_executions_total", "Skill executions by outcome", ["skill", "status", "tenant_id"], {
    allow: { status: statuses },
  }),
  seconds: histogram("m11_skill_execution_seconds", "Skill execution latency, retries included", ["skill"], {
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  idempotencyHits: counter("m11_skill_idempotency_hits_total", "Calls answered from a stored idempotent result", [
    "skill",
  ]),
  idempotencyConflicts: counter(
    "m11_skill_idempotency_conflicts_total",
    "Calls refused: idempotency key reused with different args",
    ["skill"],
  ),
  breakerState: gauge("m11_circuit_breaker_state", "Circuit breaker state: 0=CLOSED, 1=OPEN, 2=HALF_OPEN", ["target"]),
  breakerFailures: counter("m11_circuit_breaker_failures_total", "Failures recorded by a circuit breaker", ["target"]),
  breakerSuccesses: counter("m11_circuit_breaker_successes_total", "Successes recorded by a circuit breaker", [
    "target",
  ]),
  breakerOpens: counter("m11_circuit_breaker_opens_total", "Circuit breaker openings", ["target"]),
  breakerCloses: counter("m11_circuit_breaker_closes_total", "Circuit breaker recoveries (closings)", ["target"]),
  breakerRejected: counter("m11_circuit_breaker_rejected_total", "Calls refused by an open circuit breaker", [
    "target",
  ]),
  breakerStoreErrors: counter(
    "aos_skill_breaker_store_errors_total",
    "Breaker store failures by operation; the call went ahead (fail open)",
    ["op"],
    { allow: { op: ["acquire", "fail", "succeed", "peek"] } },
  ),
};
