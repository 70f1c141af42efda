/** The jobs domain's metrics (declared once; recorded by spawn, claim, completion and finalisation). */
import { counter, histogram } from "../platform/metrics/index.ts";

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const jobMetrics = {
  spawnSeconds: histogram("aos_job_spawn_seconds", "Time to spawn a job (reserve, insert, fan out)", [], {
    buckets: durationBuckets,
  }),
  completionSeconds: histogram("aos_job_completion_seconds", "Time from spawn to the job's finalisation", ["status"], {
    buckets: [1, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400],
    allow: { status: ["completed", "failed", "cancelled"] },
  }),
  items: counter("aos_job_items_total", "Items by outcome", ["outcome"], {
    allow: { outcome: ["done", "failed", "retried", "cancelled", "lease_expired"] },
  }),
  claimSeconds: histogram("aos_job_claim_seconds", "Latency of one claim (SKIP LOCKED)", ["via"], {
    buckets: durationBuckets,
    allow: { via: ["http", "sqs"] },
  }),
};
