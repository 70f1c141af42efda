/**
 * The workflows domain's metrics. The seed's (000, PIN-060) `m11_audit_ops_total` (ops written to
 * the audit log, recorded after the commit that writes each) and its four replay metrics,
 * recorded by the verifier; `aos_workflow_*` are ours. `skill` takes the registry's names only
 * (an op's skill is a registered skill), `status` and `mode` fixed values.
 */
import { counter, gauge, histogram } from "../platform/metrics/index.ts";

export const workflowMetrics = {
  auditOps: counter("m11_audit_ops_total", "Workflow ops written to the operations audit log", ["skill", "status"], {
    allow: { status: ["succeeded", "failed"] },
  }),
  replayRuns: counter("m11_replay_runs_total", "Replay verifications by mode and verdict", ["mode", "status"], {
    allow: { mode: ["verify", "against_version"], status: ["verified", "mismatch", "error"] },
  }),
  replayOpsVerified: counter("m11_replay_ops_verified_total", "Ops a replay verification found matching", []),
  replayOpsMismatched: counter("m11_replay_ops_mismatched_total", "Ops a replay verification found not matching", []),
  replaySeconds: histogram("m11_replay_verification_seconds", "Time to verify one run", [], {
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  runsFinished: counter("aos_workflow_runs_finished_total", "Workflow runs that ended, by how", ["status"], {
    allow: { status: ["completed", "failed", "cancelled"] },
  }),
  stepRetries: counter("aos_workflow_step_retries_total", "Workflow steps that failed retryably and run again", []),
  stuckRuns: gauge(
    "aos_workflow_stuck_runs",
    "Running workflow runs not moved on for WORKFLOW_STUCK_AFTER_S (set by each sweep)",
    [],
  ),
};
