/** Jobs (core/jobs): spawn, claim, complete and cancel jobs of N items; their queue and sweeper. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const jobs: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("jobs", [
    ["POST /api/v1/jobs", "create", "agent", "Spawn a job of N items: credits reserved, items fanned out over SQS (or claimed by agents when task is external)", { links: ["JobItemsQueue"] }],
    ["POST /api/v1/jobs/simulate", "simulate", "agent", "What a spawn would cost and take, with warnings and risks and CostSim V1's estimate; executes nothing"],
    ["GET /api/v1/jobs", "list", "viewer", "The tenant's jobs, newest first (keyset pagination)"],
    ["GET /api/v1/jobs/{id}", "get", "viewer", "A job with its items counted by state and its credits reserved, charged, released and refunded"],
    ["GET /api/v1/jobs/{id}/items", "items", "viewer", "A job's items in order (keyset pagination)"],
    ["POST /api/v1/jobs/{id}/cancel", "cancel", "agent", "Cancel a job: unclaimed items cancelled and refunded; items in flight may finish"],
    ["POST /api/v1/jobs/{id}/claim", "claim", "agent", "Claim pending items of an external job with a lease (FOR UPDATE SKIP LOCKED)"],
    ["POST /api/v1/items/{id}/heartbeat", "items/heartbeat", "agent", "Extend the lease of an item this worker holds"],
    ["POST /api/v1/items/{id}/complete", "items/complete", "agent", "Complete an item this worker holds (charged); 409 once the lease is lost"],
    ["POST /api/v1/items/complete", "items/complete-many", "agent", "Complete up to 100 items this worker holds in one call (each charged once); the others refused per item"],
    ["POST /api/v1/items/{id}/fail", "items/fail", "agent", "Fail an item this worker holds: retried until max_attempts, then failed (released)", { links: ["JobItemsQueue", "FailureRecordsQueue"] }],
  ]),
  queues: [
    {
      // A batch's items run concurrently; each skill call has a 25 s deadline.
      name: "JobItems",
      handler: "functions/queue/job-items.handler",
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 150,
      maxReceiveCount: 10,
      timeoutS: 120,
      links: ["JobItemsQueue", "SlackWebhookUrl", "WebhookSigningSecret", "VoyageApiKey", "FailureRecordsQueue"],
    },
  ],
  schedules: [
    {
      // Expired leases back to pending, lost fan-out messages re-sent, finished jobs settled.
      name: "JobSweep",
      schedule: "rate(1 minute)",
      handler: "functions/cron/job-sweep.handler",
      timeoutS: 60,
      links: ["JobItemsQueue", "FailureRecordsQueue"],
    },
  ],
};
