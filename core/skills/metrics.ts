/**
 * The fifteen `m11_*` metrics of the M11 seed (PIN-060), declared once. The execution path
 * (execute.ts), the breaker (breaker.ts) and the idempotency store record them, so a skill gets
 * them without code of its own. The replay metrics are declared here, with their seed names, and
 * recorded by workflow replay. `aos_skill_breaker_store_errors_total` is ours: a breaker whose
 * own store fails lets calls through (fails open), and that must be visible.
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
  auditOps: counter("m11_audit_ops_total", "Skill executions recorded in the execution log", ["skill", "status"]),
  replayRuns: counter("m11_replay_runs_total", "Replay runs by mode and outcome", ["mode", "status"]),
  replayOpsVerified: counter("m11_replay_ops_verified_total", "Operations a replay verified", []),
  replayOpsMismatched: counter("m11_replay_ops_mismatched_total", "Operations whose replay did not match", []),
  replaySeconds: histogram("m11_replay_verification_seconds", "Replay verification latency", [], {
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  }),
  breakerStoreErrors: counter(
    "aos_skill_breaker_store_errors_total",
    "Breaker store failures; the call went ahead (fail open)",
    ["target"],
  ),
};
