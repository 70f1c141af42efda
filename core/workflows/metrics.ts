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
  stepsChained: counter(
    "aos_workflow_steps_chained_total",
    "Workflow ops after which the same delivery ran the next op (no message; WORKFLOW_STEP_CHAIN_S)",
    [],
  ),
  stuckRuns: gauge(
    "aos_workflow_stuck_runs",
    "Running workflow runs not moved on for WORKFLOW_STUCK_AFTER_S (set by each sweep)",
    [],
  ),
  retentionExports: counter(
    "aos_workflow_retention_exports_total",
    "Runs whose ops the retention cron wrote to S3 (a rerun after a failed delete writes again)",
    [],
  ),
  retentionRuns: counter(
    "aos_workflow_retention_runs_archived_total",
    "Runs whose ops were exported to S3 and then removed from workflow_ops (WORKFLOW_OPS_RETENTION_DAYS)",
    [],
  ),
  retentionOpsDeleted: counter(
    "aos_workflow_retention_ops_deleted_total",
    "Ops removed from workflow_ops by retention, each after its run's export",
    [],
  ),
  retentionFailures: counter(
    "aos_workflow_retention_failures_total",
    "Runs the retention cron could not archive, by stage (their ops stay; the next run tries again)",
    ["stage"],
    { allow: { stage: ["export", "delete"] } },
  ),
  retentionLastSuccess: gauge(
    "aos_workflow_retention_last_success_timestamp_seconds",
    "When the workflow retention cron last finished with no run failing (Unix seconds)",
    [],
  ),
};
