/**
 * The jobs domain's metrics (declared once; recorded by spawn, claim, completion, finalisation and
 * the sweeper). `job_spawn_duration_seconds` and `job_completion_duration_seconds` are seed 002's
 * `job_spawn_duration` / `job_completion_duration` with the base unit added; the rest follow
 * `aos_job_<what>_<unit>` (docs/metrics.md).
 */
import { counter, gauge, histogram } from "../platform/metrics/index.ts";

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const jobMetrics = {
  spawnSeconds: histogram("job_spawn_duration_seconds", "Time to spawn a job (reserve, insert, fan out)", [], {
    buckets: durationBuckets,
  }),
  completionSeconds: histogram(
    "job_completion_duration_seconds",
    "Time from spawn to the job's finalisation",
    ["status"],
    {
      buckets: [1, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400],
      allow: { status: ["completed", "failed", "cancelled"] },
    },
  ),
  items: counter("aos_job_items_total", "Items by outcome", ["outcome"], {
    allow: { outcome: ["done", "failed", "retried", "postponed", "cancelled", "lease_expired"] },
  }),
  backlogItems: gauge(
    "aos_job_backlog_items",
    "Open items of every tenant by status (set by the sweeper)",
    ["status"],
    {
      allow: { status: ["pending", "claimed"] },
    },
  ),
  stuckItems: gauge(
    "aos_job_stuck_items",
    "Claimed items whose lease ended over 2 minutes ago and that the sweeper has not returned",
    [],
  ),
  oldestBacklogAge: gauge(
    "aos_job_oldest_backlog_age_seconds",
    "Age of the oldest running job that still has pending items (0: none)",
    [],
  ),
  claimSeconds: histogram("aos_job_claim_seconds", "Latency of one claim (SKIP LOCKED)", ["via"], {
    buckets: durationBuckets,
    allow: { via: ["http", "sqs"] },
  }),
};
