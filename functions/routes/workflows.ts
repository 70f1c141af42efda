/** Workflows (core/workflows): definitions, runs, the operations audit log, replay verification and fork. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

const steps = { links: ["WorkflowStepsQueue"] } as const;

export const workflows: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("workflows", [
    ["POST /api/v1/workflows", "register", "agent", "Register a workflow: a new version when its steps change, the latest version again when they do not"],
    ["GET /api/v1/workflows", "list", "viewer", "The tenant's workflows, each at its latest version (keyset pagination on the name)"],
    ["GET /api/v1/workflows/runs", "workflows/runs/list", "viewer", "The tenant's workflow runs, newest first (keyset pagination)"],
    ["GET /api/v1/workflows/runs/{id}", "workflows/runs/get", "viewer", "A workflow run with its ops (the audit log) and summary"],
    ["POST /api/v1/workflows/runs/{id}/cancel", "workflows/runs/cancel", "agent", "Cancel a running run: no further step starts, the rest of its credits released"],
    ["POST /api/v1/workflows/runs/{id}/replay", "workflows/runs/replay", "agent", "Verify a run's recorded ops against its definition (or another version): args, results, chain", { timeoutS: 30, links: ["VoyageApiKey", "FailureRecordsQueue", "WorkflowReplaysQueue"] }],
    ["GET /api/v1/workflows/runs/{id}/replays/{replay_id}", "workflows/runs/replay-get", "viewer", "A replay verification of a run"],
    ["POST /api/v1/workflows/runs/{id}/fork", "workflows/runs/fork", "agent", "Start a new run reusing the recorded results before an op and running from it", steps],
    ["GET /api/v1/workflows/{name}", "get", "viewer", "A workflow definition (the latest version, or ?version=) with its versions"],
    ["POST /api/v1/workflows/{name}/simulate", "simulate", "agent", "What a run with this input would cost, take and risk (CostSim V1); runs nothing"],
    ["POST /api/v1/workflows/{name}/runs", "workflows/runs/start", "agent", "Start a run: credits of its steps reserved, steps run one after another over SQS", steps],
  ]),
  queues: [
    {
      // One op per message; a step's skill call has its timeout (at most 900 s, default 25 s).
      name: "WorkflowSteps",
      handler: "functions/queue/workflow-steps.handler",
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 150,
      maxReceiveCount: 10,
      timeoutS: 120,
      links: ["WorkflowStepsQueue", "SlackWebhookUrl", "WebhookSigningSecret", "VoyageApiKey", "FailureRecordsQueue"],
    },
    {
      // One queued replay per message (a run with more ops than WORKFLOW_REPLAY_MAX_OPS); the
      // worker's lease (Workflows.REPLAY_LEASE_S, 330 s) outlives its timeout, the visibility timeout both.
      name: "WorkflowReplays",
      handler: "functions/queue/workflow-replays.handler",
      batchSize: 1,
      batchWindowS: 0,
      visibilityTimeoutS: 360,
      maxReceiveCount: 5,
      timeoutS: 300,
      links: ["WorkflowReplaysQueue", "VoyageApiKey", "FailureRecordsQueue"],
    },
  ],
  schedules: [
    {
      // Lost step and replay messages re-sent; the stuck-runs gauge set.
      name: "WorkflowSweep",
      schedule: "rate(1 minute)",
      handler: "functions/cron/workflow-sweep.handler",
      timeoutS: 60,
      links: ["WorkflowStepsQueue", "WorkflowReplaysQueue"],
    },
    {
      // Ops of runs finished more than WORKFLOW_OPS_RETENTION_DAYS ago exported to S3
      // (workflows/ops-archive/...jsonl.gz) and then deleted through workflow_archive_ops.
      name: "WorkflowRetention",
      schedule: "cron(53 3 * * ? *)",
      handler: "functions/cron/workflow-retention.handler",
      timeoutS: 300,
      links: ["Exports"],
    },
  ],
};
