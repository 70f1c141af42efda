/** The failure catalog (core/failures): its queue of failure records Postgres did not take in time. */
import type { DomainRoutes } from "./declare.ts";

export const failures: DomainRoutes = {
  routes: [],
  queues: [
    {
      // A record is one INSERT; a database still away is retried, then dead-lettered.
      name: "FailureRecords",
      handler: "functions/queue/failure-records.handler",
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 60,
      maxReceiveCount: 20,
      timeoutS: 30,
      links: ["FailureRecordsQueue"],
    },
  ],
};
